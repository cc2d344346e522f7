"""The LLM in 8 / 4 bits through bitsandbytes (``model.llm.quantization``), on CPU with the
tiny model: what loads quantized, that captions stay close to the float model's, a stage-2
step and a MiniGPT-v2 QLoRA step, checkpoints of the trainable weights only, and the errors."""
import importlib.util

import pytest
import torch
from mmpretrain.structures import DataSample

from conftest import TINY_MODEL_CONFIG, TINY_V2_MODEL_CONFIG, build_tiny_model

pytest.importorskip('bitsandbytes', reason='bitsandbytes is not installed')
import bitsandbytes as bnb  # noqa: E402

from mmpretrain_minigpt4.models.language_models import hf_causal_lm, quantization  # noqa: E402

LINEARS_PER_LAYER = 7  # q, k, v, o, gate, up, down
NUM_LAYERS = 2


@pytest.fixture(scope='module')
def tiny_llm_dir(tmp_path_factory):
    """The tiny random Llama saved as a Hugging Face directory (quantization loads from one)."""
    model = build_tiny_model(0)
    directory = str(tmp_path_factory.mktemp('tiny_llm'))
    model.llm.save_pretrained(directory)
    return directory


def quantized(mode, directory, config=TINY_MODEL_CONFIG, **llm):
    return build_tiny_model(0, config, llm=dict(
        type='HFCausalLM', name_or_path=directory, config=None, dtype='float32', quantization=mode,
        device_map='cpu', **llm))


def samples(count=2):
    return [DataSample(instruction='Describe this image in detail.', answer='A red car.')
            for _ in range(count)]


@pytest.mark.parametrize('mode, layer_type, weight_dtype', [
    ('8bit', 'Linear8bitLt', torch.int8), ('4bit', 'Linear4bit', torch.uint8)])
def test_the_decoder_linears_load_quantized(tiny_llm_dir, mode, layer_type, weight_dtype):
    model = quantized(mode, tiny_llm_dir)
    layers = [m for m in model.llm.modules() if type(m).__name__ == layer_type]
    assert len(layers) == NUM_LAYERS * LINEARS_PER_LAYER
    assert all(layer.weight.dtype == weight_dtype for layer in layers)
    # lm_head and the embeddings stay in model.llm.dtype.
    assert not isinstance(model.llm.lm_head, (bnb.nn.Linear8bitLt, bnb.nn.Linear4bit))
    assert model.llm.lm_head.weight.dtype == torch.float32


@pytest.mark.parametrize('mode, tolerance', [('8bit', 0.05), ('4bit', 0.3)])
def test_quantized_logits_stay_close_to_the_float_ones(tiny_llm_dir, mode, tolerance):
    reference = build_tiny_model(0)
    model = quantized(mode, tiny_llm_dir)
    torch.manual_seed(1)
    images = torch.randn(2, 3, 224, 224)
    with torch.no_grad():
        ref_embeds, mask, _ = reference.build_training_inputs(
            reference.extract_image_tokens(images), samples())
        got = model.llm(inputs_embeds=ref_embeds, attention_mask=mask).logits.float()
        want = reference.llm(inputs_embeds=ref_embeds, attention_mask=mask).logits
    error = (got - want).abs().max() / want.abs().max()
    assert 0 < error < tolerance  # quantized (not the float weights), but close
    caption = model.predict(images[:1] * 0 + 100, [DataSample()])[0].pred_caption
    assert isinstance(caption, str)


@pytest.mark.parametrize('mode', ['8bit', '4bit'])
def test_stage2_step_trains_the_projection_only(tiny_llm_dir, mode):
    model = quantized(mode, tiny_llm_dir).train()
    frozen_before = {n: p.detach().clone() for n, p in model.llm.named_parameters()}
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-2)
    before = model.head.proj.weight.detach().clone()
    loss = model.loss(torch.randn(2, 3, 224, 224), samples())['loss']
    loss.backward()
    optimizer.step()
    assert torch.isfinite(loss)
    assert not torch.equal(model.head.proj.weight, before)
    assert model.trainable_parameter_names() == {'head.proj.weight', 'head.proj.bias'}
    for name, param in model.llm.named_parameters():
        assert torch.equal(param, frozen_before[name]), name
    # The checkpoint: the projection alone (no 8-bit scales, no 4-bit quantization state),
    # and it loads back.
    state = model.state_dict()
    assert set(state) == {'head.proj.weight', 'head.proj.bias'}
    fresh = quantized(mode, tiny_llm_dir)
    fresh.load_state_dict(state)
    assert torch.equal(fresh.head.proj.weight, model.head.proj.weight)


def test_qlora_step_trains_lora_over_the_4bit_base(tiny_llm_dir):
    lora = dict(r=4, alpha=1, dropout=0.05, target_modules=['q_proj', 'v_proj'])
    model = quantized('4bit', tiny_llm_dir, TINY_V2_MODEL_CONFIG, lora=lora).train()
    lora_b = [p for n, p in model.named_parameters() if 'lora_B' in n]
    assert len(lora_b) == NUM_LAYERS * 2 and all(p.dtype == torch.float32 for p in lora_b)
    q_proj = model.llm.model.layers[0].self_attn.q_proj
    assert isinstance(q_proj.base_layer, bnb.nn.Linear4bit)
    base_before = q_proj.base_layer.weight.detach().clone()
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-2)
    model.loss(torch.randn(2, 3, 448, 448), samples())['loss'].backward()
    optimizer.step()
    assert all(p.abs().sum() > 0 for p in lora_b)  # B starts at zero
    assert torch.equal(q_proj.base_layer.weight, base_before)
    assert {n.split('.')[0] for n in model.state_dict()} == {'head', 'llm'}
    assert all('lora_' in n for n in model.state_dict() if n.startswith('llm.'))


@pytest.mark.parametrize('overrides, error, message', [
    (dict(quantization='3bit'), ValueError, r"one of \['8bit', '4bit'\] or None, got '3bit'"),
    (dict(quantization='8bit', device_map='mps'), ValueError, "cannot run on 'mps'"),
    (dict(quantization='8bit', quantization_config=dict()), ValueError, 'not both'),
])
def test_quantization_that_cannot_run_is_refused(tiny_llm_dir, overrides, error, message):
    llm = dict(type='HFCausalLM', name_or_path=tiny_llm_dir, config=None, dtype='float32',
               **overrides)
    with pytest.raises(error, match=message):
        build_tiny_model(0, llm=llm)


def test_quantization_needs_a_model_directory():
    with pytest.raises(ValueError, match='set model.llm.name_or_path'):
        build_tiny_model(0, llm=dict(quantization='4bit'))


def test_quantization_without_bitsandbytes_names_what_to_install(tiny_llm_dir, monkeypatch):
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(quantization.importlib.util, 'find_spec',
                        lambda name, *a: None if name == 'bitsandbytes' else real_find_spec(name))
    with pytest.raises(ImportError, match="needs bitsandbytes: pip install 'bitsandbytes"):
        quantized('8bit', tiny_llm_dir)


def test_a_load_that_quantizes_nothing_is_an_error(tiny_llm_dir, monkeypatch):
    monkeypatch.setattr(hf_causal_lm, 'bitsandbytes_config',
                        lambda mode: None)  # as if transformers ignored the request
    with pytest.raises(RuntimeError, match='quantized no linear layer'):
        quantized('8bit', tiny_llm_dir)
