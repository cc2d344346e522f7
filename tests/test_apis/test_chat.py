"""Chat: official multi-turn prompts (MiniGPT-4 and MiniGPT-v2), stopping at the separator,
streaming, context truncation, the v2 demo's settings and boxes."""
import os.path as osp
import threading

import mmpretrain_minigpt4  # noqa: F401
import numpy as np
import pytest
import torch
from conftest import REPO_ROOT, TINY_V2_MODEL_CONFIG, real_photo
from mmengine.config import Config
from PIL import Image

from mmpretrain_minigpt4.apis import CHAT_GENERATION_CFG, Chat, MiniGPT4CaptionInferencer
from mmpretrain_minigpt4.apis import chat as chat_module
from mmpretrain_minigpt4.apis.chat import GENERATION_THREAD_NAME

SYSTEM = ('Give the following image: <Img>ImageContent</Img>. You will be able to see the '
          'image once I provide it to you. Please answer my questions.')
GREEDY = dict(do_sample=False, max_new_tokens=8)


def make_chat(**kwargs) -> Chat:
    torch.manual_seed(0)
    chat = Chat('minigpt-4_tiny_caption', generation_cfg=GREEDY, **kwargs)
    chat.upload_image(Image.fromarray(real_photo('chelsea')))
    return chat


@pytest.fixture(scope='module')
def vicuna_chat() -> Chat:
    return make_chat()


def test_vicuna_v0_turn_two_prompt_is_the_official_one(vicuna_chat):
    chat = vicuna_chat
    chat.upload_image(Image.fromarray(real_photo('chelsea')))
    chat.ask('What animal is this?')
    assert chat.build_prompt() == (
        f'{SYSTEM}###Human: <Img><ImageHere></Img> What animal is this?###Assistant: ')
    first = chat.answer()
    chat.ask('What colour is it?')
    assert chat.build_prompt() == (
        f'{SYSTEM}###Human: <Img><ImageHere></Img> What animal is this?###Assistant: '
        f'{first}###Human: What colour is it?###Assistant: ')


def test_llama2_turn_two_prompt_is_the_official_one():
    chat = make_chat(template='llama2')
    chat.ask('What animal is this?')
    first = chat.answer()
    chat.ask('What colour is it?')
    assert chat.build_prompt() == (
        f'{SYSTEM}<s>[INST] <Img><ImageHere></Img> What animal is this? [/INST] '
        f'{first}<s>[INST] What colour is it? [/INST] ')


def test_streamed_answer_grows_and_equals_the_model_generate(vicuna_chat):
    chat = vicuna_chat
    chat.upload_image(Image.fromarray(real_photo('chelsea')))
    chat.ask('Describe it.')
    prompt = chat.build_prompt()
    partials = list(chat.stream_answer())
    assert 1 < len(partials) <= GREEDY['max_new_tokens']
    assert chat.messages[-1] == [1, partials[-1]]
    expected = chat.model.generate(chat.image_tokens, [prompt], **GREEDY)[0]
    assert partials[-1] == expected


def test_generation_stops_at_the_separator(vicuna_chat):
    chat = vicuna_chat
    chat.upload_image(Image.fromarray(real_photo('chelsea')))
    chat.ask('Say hello.')
    model, tokenizer = chat.model, chat.model.tokenizer
    hello, separator = tokenizer.encode('Hello')[-1], tokenizer.encode('###')[-1]
    # Bias the tiny LLM towards 'Hello' and '###' after it; only stopping ends it early.
    bias = [[[hello], 50.0], [[hello, separator], 100.0]]
    embeds, mask = model.embed_sequences(
        [model.prompt_token_ids(chat.build_prompt())], chat.image_tokens, left_pad=True)
    unstopped = model.llm.generate(
        inputs_embeds=embeds, attention_mask=mask, sequence_bias=bias, do_sample=False,
        max_new_tokens=GREEDY['max_new_tokens'], pad_token_id=tokenizer.pad_id)[0].tolist()
    stop_at = next(i for i in range(len(unstopped)) if '###' in tokenizer.decode(unstopped[:i + 1]))
    assert stop_at < GREEDY['max_new_tokens'] - 1  # the bias really produces '###' early
    partials = list(chat.stream_answer(sequence_bias=bias))
    assert len(partials) == stop_at + 1  # one partial per token, none after the separator
    assert set(partials[-1].split()) == {'Hello'} and '###' not in partials[-1]
    assert chat.messages[-1] == [1, partials[-1]]


def test_long_conversations_drop_old_rounds_but_keep_system_and_image(vicuna_chat):
    chat = vicuna_chat
    chat.upload_image(Image.fromarray(real_photo('chelsea')))
    chat.messages = [[0, '<Img><ImageHere></Img> First question?'], [1, 'First answer.'],
                     [0, 'Second question?'], [1, 'Second answer.'], [0, 'Third question?']]
    full = chat.build_prompt()
    chat.max_length = chat.model.prompt_length(full) + GREEDY['max_new_tokens'] - 1
    try:
        assert chat.build_prompt() == (
            f'{SYSTEM}###Human: <Img><ImageHere></Img> First question?###Assistant: '
            'First answer.###Human: Third question?###Assistant: ')
        chat.max_length = 40
        with pytest.raises(ValueError, match='ask a shorter question'):
            chat.build_prompt()
    finally:
        chat.max_length = 2000


def test_new_image_restarts_and_order_is_enforced():
    chat = make_chat()
    chat.ask('Hi?')
    chat.answer()
    chat.upload_image(real_photo('rocket')[..., ::-1].copy())
    assert chat.messages == [[0, '<Img><ImageHere></Img>']]
    with pytest.raises(RuntimeError, match='ask'):
        chat.answer()
    chat.reset()
    with pytest.raises(RuntimeError, match='upload_image'):
        chat.ask('Hi?')


def test_official_demo_generation_defaults():
    assert CHAT_GENERATION_CFG == dict(
        max_new_tokens=300, num_beams=1, min_length=1, top_p=0.9, repetition_penalty=1.05,
        length_penalty=1.0, temperature=1.0, do_sample=True)
    with pytest.raises(ValueError, match='chat template'):
        Chat('minigpt-4_tiny_caption', template='pretrain')


def test_closing_a_stream_stops_its_generation(vicuna_chat, monkeypatch):
    """A reader that stops (a web page closed mid-answer) stops the generation thread
    at its next token, and the question stays unanswered."""
    generated = []
    real_put = chat_module._TokenQueue.put
    monkeypatch.setattr(chat_module._TokenQueue, 'put',
                        lambda queue, value: generated.append(1) or real_put(queue, value))
    chat = vicuna_chat
    chat.upload_image(Image.fromarray(real_photo('chelsea')))
    chat.ask('Describe it.')
    stream = chat.stream_answer(max_new_tokens=400, min_new_tokens=400)
    first = next(stream)
    stream.close()
    assert first
    assert GENERATION_THREAD_NAME not in [thread.name for thread in threading.enumerate()]
    # The prompt, the first token and at most a few more: not the 400 asked for.
    assert len(generated) < 10
    monkeypatch.undo()
    assert chat.messages[-1][0] == 0  # still waiting for its answer
    # The conversation goes on: the question is answered in full.
    prompt = chat.build_prompt()
    assert chat.answer() == chat.model.generate(chat.image_tokens, [prompt], **GREEDY)[0]


def run_with_timeout(function, seconds=120):
    """``function()`` in a thread; a hang fails the test instead of blocking the suite."""
    from concurrent.futures import ThreadPoolExecutor
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(function).result(timeout=seconds)


@pytest.mark.parametrize('do_sample', [True, False])
def test_beam_search_answers_in_one_piece_with_or_without_sampling(do_sample):
    chat = make_chat()
    chat.ask('What is it?')
    torch.manual_seed(0)
    partials = run_with_timeout(lambda: list(chat.stream_answer(num_beams=3,
                                                                do_sample=do_sample)))
    assert len(partials) == 1 and chat.messages[-1] == [1, partials[0]]


@pytest.mark.parametrize('overrides, message', [
    (dict(num_beams=0), 'num_beams must be an integer >= 1'),
    (dict(temperature=0.0), 'temperature must be a number > 0'),
    (dict(top_p=2), r'top_p must be a number in \(0, 1\]'),
    (dict(num_beam=2), "'num_beam' is not a supported generation setting. Did you mean 'num_beams'"),
])
def test_bad_settings_are_refused_before_generating(vicuna_chat, overrides, message):
    chat = vicuna_chat
    chat.upload_image(Image.fromarray(real_photo('chelsea')))
    chat.ask('What is it?')
    with pytest.raises(ValueError, match='Chat answer settings: ' + message):
        next(chat.stream_answer(**overrides))
    with pytest.raises(ValueError, match='Chat generation_cfg: ' + message):
        Chat(chat.inferencer, generation_cfg=overrides)
    assert chat.messages[-1][0] == 0  # still waiting for its answer


def test_empty_questions_and_impossible_lengths_are_refused(vicuna_chat):
    chat = vicuna_chat
    chat.upload_image(Image.fromarray(real_photo('chelsea')))
    for question in ('', '  \n'):
        with pytest.raises(ValueError, match='The question is empty'):
            chat.ask(question)
    context = chat.model.context_length
    with pytest.raises(ValueError, match=rf'max_length must be an integer in \[1, {context}\]'):
        Chat(chat.inferencer, max_length=context + 1)


def test_a_failed_answer_leaves_the_conversation_as_it_was(monkeypatch):
    chat = make_chat()
    chat.ask('First?')
    first = chat.answer()
    chat.ask('Second?')

    def broken_generate(*args, **kwargs):
        raise RuntimeError('out of memory')
    monkeypatch.setattr(chat.model, 'generate', broken_generate)
    with pytest.raises(RuntimeError, match='out of memory'):
        run_with_timeout(chat.answer)  # the error reaches the reader: no hang
    chat.withdraw_question()
    assert chat.messages == [[0, '<Img><ImageHere></Img> First?'], [1, first]]
    chat.upload_image(Image.fromarray(real_photo('chelsea')))
    chat.ask('Only?')
    chat.withdraw_question()
    assert chat.messages == [[0, '<Img><ImageHere></Img>']]


# ---------------------------------------------------------------------- MiniGPT-v2
def tiny_v2_inferencer(**kwargs) -> MiniGPT4CaptionInferencer:
    """The tiny MiniGPT-v2 (random weights) behind the tiny caption config's pipeline at
    448 px: a v2 model the Chat and the tools can load. Also used by the tools' tests."""
    cfg = Config.fromfile(osp.join(REPO_ROOT, 'configs/minigpt4/minigpt-4_tiny_caption.py'))
    cfg.model = Config.fromfile(TINY_V2_MODEL_CONFIG).model
    cfg.test_dataloader.dataset.pipeline[1].scale = (448, 448)
    return MiniGPT4CaptionInferencer(cfg, pretrained=False, **kwargs)


@pytest.fixture(scope='module')
def v2_inferencer() -> MiniGPT4CaptionInferencer:
    torch.manual_seed(0)
    return tiny_v2_inferencer()


def test_minigptv2_prompts_hold_end_of_answer_tokens_not_earlier_answers(v2_inferencer):
    """demo_v2.py:479 sets every streamed answer's turn to '</s>': later prompts are the
    questions, each '<s>[INST] q [/INST]', joined by '</s>'; the image is in the first."""
    chat = Chat(v2_inferencer, generation_cfg=GREEDY)
    chat.upload_image(Image.fromarray(real_photo('chelsea')))
    chat.ask('What is it?')
    first_prompt = chat.build_prompt()
    assert first_prompt == '<s>[INST] <Img><ImageHere></Img> What is it? [/INST]'
    first = chat.answer()
    greedy = {k: v for k, v in chat.generation_cfg.items() if k not in ('temperature', 'top_p')}
    assert first == chat.model.generate(chat.image_tokens, [first_prompt], **greedy)[0]
    chat.ask('And the colour?')
    assert chat.build_prompt() == ('<s>[INST] <Img><ImageHere></Img> What is it? [/INST]</s>'
                                   '<s>[INST] And the colour? [/INST]')
    second = chat.answer()
    chat.ask('Where is it?')
    assert chat.build_prompt() == ('<s>[INST] <Img><ImageHere></Img> What is it? [/INST]</s>'
                                   '<s>[INST] And the colour? [/INST]</s>'
                                   '<s>[INST] Where is it? [/INST]')
    # The conversation itself keeps the answers (for the page and grounded_answer).
    assert chat.messages == [[0, '<Img><ImageHere></Img> What is it?'], [1, first],
                             [0, 'And the colour?'], [1, second], [0, 'Where is it?']]
    assert first and first != '</s>' and second


def test_minigptv2_turn_two_token_ids(v2_inferencer):
    """With the real Llama-2 tokenizer: the auto BOS and the text '<s>' (a double BOS, as
    officially), then after the image '</s>' (2) and '<s>' (1) as special tokens, and the
    next '[INST]' with the dummy-prefix space of a new text piece ('▁[')."""
    chat = Chat(v2_inferencer, generation_cfg=GREEDY)
    chat.upload_image(Image.fromarray(real_photo('chelsea')))
    chat.messages = [[0, '<Img><ImageHere></Img> What is it?'], [1, 'A cat.'],
                     [0, 'And the colour?']]
    before, after = chat.model.prompt_token_ids(chat.build_prompt())
    #                 BOS <s> ▁[  INST   ]     ▁<  Img    >
    assert before == [1, 1, 518, 25580, 29962, 529, 25518, 29958]
    assert after == [
        1533, 25518, 29958,  # ▁</ Img >
        1724, 338, 372, 29973,  # ▁What ▁is ▁it ?
        518, 29914, 25580, 29962,  # ▁[ / INST ]
        2, 1,  # </s> <s>
        518, 25580, 29962,  # ▁[ INST ]
        1126, 278, 12384, 29973,  # ▁And ▁the ▁colour ?
        518, 29914, 25580, 29962]  # ▁[ / INST ]


def test_minigptv2_long_conversations_drop_old_rounds(v2_inferencer):
    chat = Chat(v2_inferencer, generation_cfg=GREEDY)
    chat.upload_image(Image.fromarray(real_photo('chelsea')))
    chat.messages = [[0, '<Img><ImageHere></Img> First?'], [1, 'One.'], [0, 'Second?'],
                     [1, 'Two.'], [0, 'Third?']]
    chat.max_length = chat.model.prompt_length(chat.build_prompt()) + GREEDY['max_new_tokens'] - 1
    assert chat.build_prompt() == ('<s>[INST] <Img><ImageHere></Img> First? [/INST]</s>'
                                   '<s>[INST] Third? [/INST]')


def test_minigptv2_chat_uses_the_v2_demo_settings(v2_inferencer):
    chat = Chat(v2_inferencer)
    assert chat.generation_cfg == {**CHAT_GENERATION_CFG, 'temperature': 0.6,
                                   'max_new_tokens': 500}
    assert chat.max_length == 2000
    # Explicit settings win; MiniGPT-4 keeps its demo's.
    assert Chat(v2_inferencer, generation_cfg=dict(temperature=0.9)).generation_cfg[
        'temperature'] == 0.9
    assert Chat(v2_inferencer, generation_cfg=dict(max_new_tokens=7)).generation_cfg[
        'temperature'] == 0.6


def test_v1_chat_keeps_its_demo_settings(vicuna_chat):
    assert vicuna_chat.generation_cfg['temperature'] == 1.0
    assert Chat(vicuna_chat.inferencer).generation_cfg == CHAT_GENERATION_CFG


def test_grounded_answer_reads_boxes_in_pixels_of_the_uploaded_image(v2_inferencer, vicuna_chat):
    chat = Chat(v2_inferencer, generation_cfg=GREEDY)
    photo = real_photo('chelsea')  # 451 x 300
    chat.upload_image(Image.fromarray(photo))
    assert np.array_equal(chat.image, photo)  # RGB, as uploaded
    chat.ask('[grounding] describe this image in detail')
    assert chat.grounded_answer() is None  # not answered yet
    chat.messages.append([1, '<p>a cat</p> {<10><20><50><60>} on <p>a rug</p> {<0><90><100>}'])
    answer = chat.grounded_answer()
    assert answer.text == 'a cat on a rug'
    assert [(p.text, p.boxes) for p in answer.phrases] == [
        ('a cat', [(45.1, 60.0, 225.5, 180.0)]), ('a rug', [])]
    assert answer.problems == ["malformed box '<0><90><100>' in '{<0><90><100>}': expected "
                               '<x1><y1><x2><y2>']
    # A MiniGPT-4 answer is never read for boxes, whatever its text.
    vicuna_chat.upload_image(Image.fromarray(photo))
    vicuna_chat.ask('Where is the cat?')
    vicuna_chat.messages.append([1, '<p>a cat</p> {<10><20><50><60>}'])
    assert vicuna_chat.grounded_answer() is None
    chat.reset()
    assert chat.image is None and chat.grounded_answer() is None
