"""Batched generation, decoding options, half precision and clear errors."""
import pytest
import torch
from mmpretrain.structures import DataSample

from conftest import build_tiny_model
from mmpretrain_minigpt4.models.language_models import StopOnText

PROMPTS = [
    '###Human: <Img><ImageHere></Img> Describe this image in detail. ###Assistant: ',
    '###Human: <Img><ImageHere></Img> Hi ###Assistant: ',
    '###Human: <Img><ImageHere></Img> What is the man in the picture holding in his hand? '
    '###Assistant: ',
]


def test_batched_greedy_equals_one_by_one(tiny_model):
    image_tokens = tiny_model.extract_image_tokens(torch.randn(3, 3, 224, 224))
    batched = tiny_model.generate(image_tokens, PROMPTS, max_new_tokens=12)
    single = [tiny_model.generate(image_tokens[i:i + 1], [p], max_new_tokens=12)[0]
              for i, p in enumerate(PROMPTS)]
    assert batched == single
    assert all(isinstance(t, str) and t for t in batched)


@pytest.mark.parametrize('penalty', [1.05, 1.5])
def test_repetition_penalty_batched_equals_one_by_one(tiny_model, penalty):
    """transformers 5 exempts each row's first padding-length tokens from its own
    penalty; the plugin's processor penalises every generated token of every row
    (as transformers 4 and the official code)."""
    torch.manual_seed(1)
    image_tokens = tiny_model.extract_image_tokens(torch.randn(3, 3, 224, 224))
    settings = dict(max_new_tokens=24, repetition_penalty=penalty)
    batched = tiny_model.generate(image_tokens, PROMPTS, **settings)
    single = [tiny_model.generate(image_tokens[i:i + 1], [p], **settings)[0]
              for i, p in enumerate(PROMPTS)]
    assert batched == single
    if penalty == 1.5:  # the penalty is applied: a random model repeats itself without it
        assert batched != tiny_model.generate(image_tokens, PROMPTS, max_new_tokens=24)


def test_predict_fills_caption_or_answer(tiny_model):
    samples = tiny_model.predict(torch.randn(2, 3, 224, 224),
                                 [DataSample(), DataSample(question='What is it?')])
    assert isinstance(samples[0].pred_caption, str) and 'pred_answer' not in samples[0]
    assert isinstance(samples[1].pred_answer, str) and 'pred_caption' not in samples[1]
    assert tiny_model.prediction_prompt(samples[1]) == (
        '###Human: <Img><ImageHere></Img> What is it? ###Assistant: ')
    assert tiny_model.prediction_prompt(DataSample(prompt='<ImageHere>x')) == '<ImageHere>x'


def test_beam_search_and_sampling_from_config():
    beam = build_tiny_model(generation_cfg=dict(max_new_tokens=6, num_beams=3))
    sample = build_tiny_model(generation_cfg=dict(max_new_tokens=6, do_sample=True, top_p=0.9))
    tokens = beam.extract_image_tokens(torch.randn(2, 3, 224, 224))
    assert len(beam.generate(tokens, PROMPTS[:2])) == 2
    torch.manual_seed(0)
    first = sample.generate(tokens, PROMPTS[:2])
    torch.manual_seed(0)
    assert sample.generate(tokens, PROMPTS[:2]) == first
    assert sample.generation_cfg['do_sample'] and beam.generation_cfg['num_beams'] == 3


def test_stop_on_text_stops_each_row_at_the_end_symbol(tokenizer):
    stop = StopOnText(['###'], tokenizer.decode)
    rows = [tokenizer.encode('A dog.###'), tokenizer.encode('A dog is ok')]
    width = max(map(len, rows))
    ids = torch.tensor([r + [0] * (width - len(r)) for r in rows])
    assert stop(ids[:, :len(rows[0])], None).tolist() == [True, False]


@pytest.mark.parametrize('dtype', ['bfloat16', 'float16'])
def test_half_precision_llm(dtype):
    model = build_tiny_model(llm=dict(dtype=dtype))
    images = torch.randn(1, 3, 224, 224)
    tokens = model.extract_image_tokens(images)
    assert tokens.dtype == getattr(torch, dtype)
    assert model.head.proj.weight.dtype == torch.float32  # the trainable part stays fp32
    loss = model.loss(images, [DataSample(prompt=PROMPTS[1], answer='A dog.')])['loss']
    assert loss.dtype == torch.float32 and torch.isfinite(loss)
    if dtype == 'bfloat16':  # CPU fp16 generation is too slow/unsupported in places
        assert isinstance(model.generate(tokens, PROMPTS[1:2], max_new_tokens=3)[0], str)


def test_wrong_image_shape_is_a_clear_error(tiny_model):
    with pytest.raises(ValueError, match=r'\(B, 3, 224, 224\), got \(3, 2, 224, 224\)'):
        tiny_model.extract_image_tokens(torch.zeros(3, 2, 224, 224))
    with pytest.raises(ValueError, match='got \\(1, 3, 112, 112\\)'):
        tiny_model.extract_image_tokens(torch.zeros(1, 3, 112, 112))


def test_prompt_without_image_placeholder_is_a_clear_error(tiny_model):
    with pytest.raises(ValueError, match="exactly one '<ImageHere>'"):
        tiny_model.generate(torch.zeros(1, 32, 64), ['###Human: hi ###Assistant: '])
    with pytest.raises(KeyError, match='answer'):
        tiny_model.loss(torch.zeros(1, 3, 224, 224), [DataSample(prompt=PROMPTS[0])])


def test_missing_llm_directory_names_the_key_and_the_path(tmp_path):
    missing = str(tmp_path / 'vicuna-7b')
    with pytest.raises(FileNotFoundError) as error:
        build_tiny_model(llm=dict(type='HFCausalLM', name_or_path=missing, config=None))
    assert 'model.llm.name_or_path' in str(error.value) and missing in str(error.value)


def test_llm_from_a_local_directory(tmp_path):
    """The real-weights path: a saved Hugging Face directory with its tokenizer.model."""
    model = build_tiny_model()
    model.llm.save_pretrained(tmp_path)
    (tmp_path / 'tokenizer.model').write_bytes(model.tokenizer.sp_model.serialized_model_proto())
    loaded = build_tiny_model(llm=dict(type='HFCausalLM', name_or_path=str(tmp_path),
                                       config=None), tokenizer=None)
    torch.testing.assert_close(loaded.llm.lm_head.weight, model.llm.lm_head.weight)
    assert loaded.tokenizer.encode('###') == [835]
