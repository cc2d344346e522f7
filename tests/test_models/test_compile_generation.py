"""Static KV cache and compiled decoding give the same greedy answers as the dynamic cache."""
import pytest
import torch
from conftest import build_tiny_model

from mmpretrain_minigpt4.conversation import build_instruction_prompt

QUESTIONS = ('What is it?',
             'What is the colour of the large object on the left side of the picture?',
             'Is this a cat?')


@pytest.fixture(scope='module')
def inputs():
    model = build_tiny_model(seed=3)
    torch.manual_seed(1)
    image_tokens = model.extract_image_tokens(torch.randn(len(QUESTIONS), 3, 224, 224))
    prompts = [build_instruction_prompt(model.template, q) for q in QUESTIONS]
    dynamic = model.generate(image_tokens, prompts, max_new_tokens=8, min_new_tokens=8)
    return image_tokens, prompts, dynamic


def test_static_cache_equals_dynamic(inputs):
    image_tokens, prompts, dynamic = inputs
    model = build_tiny_model(seed=3, generation_cfg=dict(cache_implementation='static'))
    assert all(len(text.split()) > 0 for text in dynamic)
    assert model.generate(image_tokens, prompts, max_new_tokens=8, min_new_tokens=8) == dynamic


def test_compile_generation_equals_dynamic(inputs):
    image_tokens, prompts, dynamic = inputs
    # The 'eager' backend traces with dynamo like inductor but skips code generation,
    # which would take a minute on a small CPU.
    model = build_tiny_model(seed=3, compile_generation=dict(backend='eager', mode=None))
    calls = []
    generate = model.llm.generate

    def spy(**kwargs):
        calls.append(kwargs['generation_config'])
        return generate(**kwargs)

    model.llm.generate = spy
    assert model.generate(image_tokens, prompts, max_new_tokens=8, min_new_tokens=8) == dynamic
    config = calls[0]
    assert config.cache_implementation == 'static'
    assert config.compile_config.backend == 'eager'
    assert config.compile_config._compile_all_devices
    assert hasattr(model.llm, '_compiled_call'), 'generate did not compile the decoding step'
