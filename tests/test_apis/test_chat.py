"""Chat: official multi-turn prompts, stopping at the separator, streaming, context truncation."""
import threading

import mmpretrain_minigpt4  # noqa: F401
import pytest
import torch
from conftest import real_photo
from PIL import Image

from mmpretrain_minigpt4.apis import CHAT_GENERATION_CFG, Chat
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
