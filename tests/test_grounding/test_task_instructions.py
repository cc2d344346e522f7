"""MiniGPT-v2 task tokens and the official instruction pools."""
import pytest

from mmpretrain_minigpt4.grounding import (INSTRUCTION_POOLS, REFER_EVALUATION_INSTRUCTION,
                                           TASK_TOKENS, task_instruction)


def test_every_pool_but_caption_starts_with_its_task_token():
    assert TASK_TOKENS == ('[grounding]', '[refer]', '[detection]', '[identify]', '[vqa]',
                           '[caption]')
    for task, pool in INSTRUCTION_POOLS.items():
        if task != 'caption':
            assert all(text.startswith(f'[{task}] ') for text in pool), task
    assert {task: len(pool) for task, pool in INSTRUCTION_POOLS.items()} == dict(
        grounding=4, refer=7, identify=7, detection=1, vqa=2, caption=17)


def test_instructions_are_filled_as_the_official_datasets_fill_them():
    assert task_instruction('refer', 2, 'the cat on the left') == \
        '[refer] where is the cat on the left ?'
    assert task_instruction('identify', 1, '{<4><50><30><65>}') == \
        '[identify] what object is in this location {<4><50><30><65>}'
    assert task_instruction('grounding', 0) == '[grounding] please describe this image in details'
    assert task_instruction('caption', 6) == '[caption] A photo of '
    assert REFER_EVALUATION_INSTRUCTION.format('a dog') == '[refer] give me the location of a dog'


def test_unknown_task_and_index_are_named():
    with pytest.raises(KeyError, match="Unknown MiniGPT-v2 task 'segment'"):
        task_instruction('segment', 0)
    with pytest.raises(IndexError, match="Task 'vqa' has 2 instructions, not an index 2"):
        task_instruction('vqa', 2, 'q')
