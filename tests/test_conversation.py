import pytest

from mmpretrain_minigpt4.conversation import (ALIGNMENT_INSTRUCTIONS, build_chat_prompt,
                                              build_instruction_prompt, build_prediction_prompt,
                                              get_template, split_prompt_at_image,
                                              strip_generated_text)

SYSTEM = ('Give the following image: <Img>ImageContent</Img>. You will be able to see the image '
          'once I provide it to you. Please answer my questions.')


def test_training_prompts_are_the_official_strings():
    assert build_instruction_prompt(get_template('vicuna_v0'), ALIGNMENT_INSTRUCTIONS[0]) == (
        '###Human: <Img><ImageHere></Img> Describe this image in detail. ###Assistant: ')
    assert build_instruction_prompt(get_template('llama2'), 'Hi?') == (
        '[INST] <Img><ImageHere></Img> Hi? [/INST] ')
    assert build_instruction_prompt(get_template('pretrain'), 'ignored') == ''
    assert get_template('vicuna_v0').end_sym == '###'
    assert get_template('llama2').end_sym == '</s>'
    assert get_template('pretrain').end_sym == '\n'
    assert len(ALIGNMENT_INSTRUCTIONS) == 4


def test_minigptv2_trains_and_predicts_with_the_official_strings():
    v2 = get_template('minigptv2')
    # Training: the datasets' '<Img><ImageHere></Img> {} ' in '[INST] {} [/INST]'.
    assert build_instruction_prompt(v2, '[vqa] Hi?') == (
        '[INST] <Img><ImageHere></Img> [vqa] Hi?  [/INST]')
    # Evaluation (prepare_texts) and the demo: the chat's first turn.
    assert build_prediction_prompt(v2, '[vqa] Hi?') == (
        '<s>[INST] <Img><ImageHere></Img> [vqa] Hi? [/INST]') == build_chat_prompt(
            v2, [(0, '<Img><ImageHere></Img> [vqa] Hi?'), (1, None)])
    assert v2.end_sym == '</s>'
    for name in ('vicuna_v0', 'llama2', 'pretrain'):  # v1 predicts with its training prompt
        template = get_template(name)
        assert build_prediction_prompt(template, 'Hi?') == build_instruction_prompt(template, 'Hi?')


def test_unknown_template_lists_the_known_ones():
    with pytest.raises(KeyError, match='vicuna_v0'):
        get_template('vicuna')


def test_split_prompt_at_image():
    assert split_prompt_at_image('a <Img><ImageHere></Img> b') == ('a <Img>', '</Img> b')
    assert split_prompt_at_image('') == ('', '')
    with pytest.raises(ValueError, match='exactly one'):
        split_prompt_at_image('###Human: Describe it. ###Assistant: ')
    with pytest.raises(ValueError, match=r'found 2'):
        split_prompt_at_image('<ImageHere><ImageHere>')


def test_vicuna_chat_prompt_turn_two():
    messages = [(0, '<Img><ImageHere></Img> What is this?'), (1, 'A cat.'),
                (0, 'What colour is it?'), (1, None)]
    assert build_chat_prompt(get_template('vicuna_v0'), messages) == (
        SYSTEM + '###Human: <Img><ImageHere></Img> What is this?###Assistant: A cat.###'
        'Human: What colour is it?###Assistant: ')


def test_llama2_chat_prompt_turn_two():
    messages = [(0, '<Img><ImageHere></Img> What is this?'), (1, 'A cat.'),
                (0, 'What colour is it?'), (1, None)]
    assert build_chat_prompt(get_template('llama2'), messages) == (
        SYSTEM + '<s>[INST] <Img><ImageHere></Img> What is this? [/INST] A cat.'
        '<s>[INST] What colour is it? [/INST] ')


def test_strip_generated_text():
    vicuna, llama2 = get_template('vicuna_v0'), get_template('llama2')
    assert strip_generated_text(' A red cat.###Human: more', vicuna) == 'A red cat.'
    assert strip_generated_text('Assistant: A red cat.', vicuna) == 'A red cat.'
    assert strip_generated_text(' [/INST] A red cat. ', llama2) == 'A red cat.'
