"""Generation settings and prompts are checked before any work, with the setting named."""
import pytest
import torch
from mmpretrain.structures import DataSample

from conftest import build_tiny_model
from mmpretrain_minigpt4.models.language_models.generation_settings import (
    check_context_length, check_generation_settings)

PROMPT = '###Human: <Img><ImageHere></Img> Hi ###Assistant: '


@pytest.mark.parametrize('settings, message', [
    (dict(temprature=0.5), "'temprature' is not a supported generation setting. Did you mean "
     "'temperature'?"),
    (dict(num_return_sequences=2), "'num_return_sequences' is not a supported"),
    (dict(max_length=50), "'max_length' is not a supported"),
    (dict(num_beams=0), 'num_beams must be an integer >= 1, got 0'),
    (dict(num_beams=2.5), 'num_beams must be an integer >= 1, got 2.5'),
    (dict(max_new_tokens=0), 'max_new_tokens must be an integer >= 1'),
    (dict(temperature=0), r'temperature must be a number > 0, got 0'),
    (dict(top_p=1.5), r'top_p must be a number in \(0, 1\], got 1.5'),
    (dict(do_sample='yes'), 'do_sample must be True or False'),
    (dict(min_new_tokens=9, max_new_tokens=3), r'min_new_tokens \(9\) exceeds max_new_tokens'),
])
def test_bad_settings_name_the_setting(settings, message):
    with pytest.raises(ValueError, match=message):
        check_generation_settings(settings, 'model.generation_cfg')
    with pytest.raises(ValueError, match='model.generation_cfg: ' + message):
        build_tiny_model(generation_cfg=settings)


def test_settings_are_checked_when_set_and_per_call(tiny_model):
    model = build_tiny_model()
    with pytest.raises(ValueError, match='model.generation_cfg'):
        model.generation_cfg = dict(num_beam=2)
    model.generation_cfg = dict(max_new_tokens=4, top_k=5)
    assert model.generation_cfg == dict(max_new_tokens=4, num_beams=1, do_sample=False, top_k=5)
    tokens = tiny_model.extract_image_tokens(torch.zeros(1, 3, 224, 224))
    with pytest.raises(ValueError, match="MiniGPT4.generate: 'topp' is not"):
        tiny_model.generate(tokens, [PROMPT], topp=0.9)


def never_encode(model, monkeypatch):
    def fail(*args, **kwargs):
        raise AssertionError('an image was encoded before the inputs were checked')
    monkeypatch.setattr(model, 'extract_image_tokens', fail)


def test_prompt_past_the_context_is_refused_before_encoding(monkeypatch):
    model = build_tiny_model(generation_cfg=dict(max_new_tokens=20))
    never_encode(model, monkeypatch)
    context = model.context_length
    long_question = ' '.join(['word'] * context)
    with pytest.raises(ValueError, match=rf'prompt 1 has \d+ tokens .*more than the LLM\'s context '
                       rf'of {context}'):
        model.predict(torch.zeros(2, 3, 224, 224),
                      [DataSample(question='Short?'), DataSample(question=long_question)])
    model.generation_cfg = dict(max_new_tokens=context)
    with pytest.raises(ValueError, match=f'max_new_tokens={context}'):
        model.predict(torch.zeros(1, 3, 224, 224), [DataSample(question='Short?')])


def test_context_length_counts_the_image_tokens():
    check_context_length([10, 30], 10, 40, 'x')
    with pytest.raises(ValueError, match='prompt 1 has 31 tokens'):
        check_context_length([10, 31], 10, 40, 'x')
    model = build_tiny_model()
    assert model.num_image_tokens == 32
    assert build_tiny_model(neck=None, head=dict(
        type='TokenMergeProjectionHead', in_channels=32, out_channels=64)).num_image_tokens == 64


@pytest.mark.parametrize('question', ['', '   ', None])
def test_empty_questions_are_refused_before_encoding(question, monkeypatch):
    model = build_tiny_model()
    never_encode(model, monkeypatch)
    with pytest.raises(ValueError, match='question'):
        model.predict(torch.zeros(1, 3, 224, 224), [DataSample(question=question)])


def test_a_question_to_the_stage1_template_is_refused():
    model = build_tiny_model(template='pretrain')
    with pytest.raises(ValueError, match="'pretrain' has no place for a question"):
        model.prediction_prompt(DataSample(question='What is it?'))
    assert model.prediction_prompt(DataSample()) == ''  # captioning works


@pytest.mark.parametrize('instruction', ['Answer briefly.', '{} and {}', 'Say {x}: {}'])
def test_vqa_instruction_needs_its_one_slot(instruction):
    with pytest.raises(ValueError, match='model.vqa_instruction'):
        build_tiny_model(vqa_instruction=instruction)
    assert build_tiny_model(vqa_instruction='{} Answer in {{one}} word.').prediction_prompt(
        DataSample(question='Q?')).endswith('Q? Answer in {one} word. ###Assistant: ')


def test_streaming_beam_search_is_refused_before_generation(tiny_model):
    tokens = tiny_model.extract_image_tokens(torch.zeros(1, 3, 224, 224))
    with pytest.raises(ValueError, match='stream with num_beams=1 only'):
        tiny_model.generate(tokens, [PROMPT], streamer=object(), num_beams=2)


def test_compile_generation_settings_are_checked_at_build():
    with pytest.raises(TypeError):
        build_tiny_model(compile_generation=dict(no_such_option=1))
    with pytest.raises(TypeError, match='True, False or a dict'):
        build_tiny_model(compile_generation='yes')
