"""Exact weight bytes per part (``benchmarking.weight_memory``): equal to the tensors a real
8 / 4-bit load holds (tiny model, CPU), and to hand-computed full-size values (meta builds)."""
import re

import pytest
import torch
import transformers
from packaging.version import Version

from conftest import TINY_MODEL_CONFIG, TINY_V2_MODEL_CONFIG, build_tiny_model

pytest.importorskip('bitsandbytes', reason='bitsandbytes is not installed')

from mmpretrain_minigpt4.benchmarking.memory_variants import (  # noqa: E402
    MODES, VARIANTS, build_on_meta)
from mmpretrain_minigpt4.benchmarking.weight_memory import (  # noqa: E402
    int8_linear_bytes, nf4_linear_bytes, weight_bytes)
from mmpretrain_minigpt4.models.language_models.lora import lora_parameters  # noqa: E402

TINY_LORA = dict(r=4, alpha=1, dropout=0.05, target_modules=['q_proj', 'v_proj'])
DECODER_LINEAR = re.compile(r'model\.layers\.\d+\.(self_attn|mlp)\.\w+_proj(\.base_layer)?')


@pytest.fixture(scope='module')
def tiny_llm_dir(tmp_path_factory):
    directory = str(tmp_path_factory.mktemp('tiny_llm'))
    build_tiny_model(0).llm.save_pretrained(directory)
    return directory


def held_tensors(module):
    """Every tensor ``module`` holds: parameters, buffers and bitsandbytes' states (the
    8-bit row scales, the 4-bit quantization state and its nested state)."""
    tensors = []
    for sub in module.modules():
        for tensor in [*sub.parameters(recurse=False), *sub.buffers(recurse=False)]:
            tensors.append(tensor)
            if getattr(tensor, 'SCB', None) is not None:
                tensors.append(tensor.SCB)
            state = getattr(tensor, 'quant_state', None)
            if state is not None:
                tensors += [state.absmax, state.code, state.offset, state.state2.absmax,
                            state.state2.code]
    return tensors


def held_bytes(tensors):
    """Bytes of the distinct storages behind ``tensors`` (what memory really holds)."""
    storages = {}
    for tensor in tensors:
        storage = tensor.untyped_storage()
        storages[storage.data_ptr()] = storage.nbytes()
    return sum(storages.values())


def held_bytes_per_part(model):
    llm = model.llm
    # With LoRA, q_proj wraps its linear (base_layer).
    linears = [m for name, m in llm.named_modules()
               if DECODER_LINEAR.fullmatch(name) and not hasattr(m, 'base_layer')]
    lora = list(lora_parameters(llm))
    counted = {id(t) for m in linears for t in held_tensors(m)} | {id(p) for p in lora}
    parts = dict(vision_encoder=held_bytes(held_tensors(model.vision_encoder)),
                 ln_vision=held_bytes(held_tensors(model.ln_vision)),
                 neck=held_bytes(held_tensors(model.neck)) if model.neck is not None else 0,
                 head=held_bytes(held_tensors(model.head)),
                 llm_linears=held_bytes([t for m in linears for t in held_tensors(m)]),
                 llm_other=held_bytes([t for t in held_tensors(llm) if id(t) not in counted]),
                 lora=held_bytes(lora),
                 other=held_bytes(held_tensors(model.data_preprocessor)))
    parts['total'] = held_bytes(held_tensors(model))
    return parts, len(linears)


def test_storage_formulas_by_hand():
    # LLM.int8: a byte per weight and a float32 scale per output row.
    assert int8_linear_bytes(64, 128) == 64 * 128 + 4 * 64
    # NF4 (64 x 64): 4096 weights in 2048 bytes; 64 blocks of 64 -> 64 uint8 absmax codes;
    # 1 nested block of 256 -> 1 float32 absmax; float32 offset, 16 + 256 code values.
    assert nf4_linear_bytes(64, 64) == 2048 + 64 + 4 * (1 + 1 + 16 + 256)
    # Llama-7B down_proj (4096 x 11008): 704,512 blocks, ceil(704,512 / 256) = 2,752.
    assert nf4_linear_bytes(4096, 11008) == 4096 * 11008 // 2 + 704512 + 4 * (2752 + 273)
    # Odd sizes round up: 3 weights take 2 bytes, 1 block, 1 nested block.
    assert nf4_linear_bytes(1, 3) == 2 + 1 + 4 * (1 + 273)


@pytest.mark.parametrize('config, lora', [(TINY_MODEL_CONFIG, None),
                                          (TINY_V2_MODEL_CONFIG, TINY_LORA)],
                         ids=['minigpt4', 'minigptv2_qlora'])
@pytest.mark.parametrize('mode', [None, '8bit', '4bit'])
def test_formula_equals_the_tensors_a_real_load_holds(tiny_llm_dir, config, lora, mode):
    float_model = build_tiny_model(0, config)
    llm = dict(type='HFCausalLM', name_or_path=tiny_llm_dir, config=None, dtype='float32',
               quantization=mode, device_map='cpu')
    if lora is not None:
        llm['lora'] = lora
    loaded = build_tiny_model(0, config, llm=llm)
    held, num_linears = held_bytes_per_part(loaded)
    assert num_linears == 2 * 7  # 2 layers x (q, k, v, o, gate, up, down)

    assert weight_bytes(float_model, mode) == held
    # The tiny LLM's linears: 2 x (4 x 64 x 64 + 3 x 64 x 128) weights, no biases.
    expected_linears = {None: 2 * (4 * 64 * 64 + 3 * 64 * 128) * 4,
                        '8bit': 2 * (4 * int8_linear_bytes(64, 64) + 2 *
                                     int8_linear_bytes(128, 64) + int8_linear_bytes(64, 128)),
                        '4bit': 2 * (4 * nf4_linear_bytes(64, 64) + 3 * nf4_linear_bytes(64, 128))}
    assert held['llm_linears'] == expected_linears[mode]
    # LoRA r 4 on q and v of 2 layers: A (4, 64) and B (64, 4) in float32.
    assert held['lora'] == (2 * 2 * 2 * 4 * 64 * 4 if lora else 0)


# --- full size, on the meta device ------------------------------------------------------
# One build per variant (bf16 mode): float16 (the 8 / 4-bit modes' LLM and ViT) has the
# same 2 bytes per value, so the 8 / 4-bit totals follow from the same build.

@pytest.fixture(scope='module')
def full_size():
    return {name: build_on_meta(VARIANTS[name], MODES['bf16']) for name in VARIANTS}


def vit_g_values(tokens):
    """EVA ViT-g/14 (39 blocks, width 1408, MLP 6144): qkv + proj 4 x 1408^2, fc1 + fc2
    2 x 1408 x 6144, per block 9 x 1408 (norm1/norm2 weight and bias, q/v bias, the k_bias
    buffer, proj and fc2 bias) + 6144 (fc1 bias); cls token, position embedding, patch
    embedding (1408 x 3 x 14 x 14 + bias)."""
    block = 4 * 1408**2 + 2 * 1408 * 6144 + 9 * 1408 + 6144
    return 39 * block + 1408 + tokens * 1408 + 1408 * 3 * 14 * 14 + 1408


def qformer_values():
    """12 BERT-base layers on 32 queries: self-attention (4 x (768^2 + 768)) with its
    LayerNorm, FFN (768 x 3072 x 2 + 3072 + 768) with its LayerNorm; cross-attention every
    2nd layer (q, o: 768^2 + 768; k, v: 768 x 1408 + 768; LayerNorm); the embeddings'
    LayerNorm and the 32 query tokens."""
    layer = 4 * 768**2 + 6 * 768 + 2 * 768 * 3072 + 3072 + 3 * 768
    cross = 2 * 768**2 + 2 * 768 * 1408 + 6 * 768
    return 12 * layer + 6 * cross + 2 * 768 + 32 * 768


# inv_freq (head_dim / 2 = 64 float32); transformers 5 also registers original_inv_freq.
ROTARY_BYTES = 64 * 4 * (2 if Version(transformers.__version__) >= Version('5') else 1)


def nf4_bytes(values):
    """NF4 of ``values`` weights, a multiple of 64 x 256 in Llama: half a byte each, a uint8
    absmax per 64, a float32 absmax per 64 x 256, the offset and 16 + 256 code values."""
    assert values % (64 * 256) == 0
    return values // 2 + values // 64 + 4 * (values // (64 * 256) + 1 + 16 + 256)


def llama_bytes(layers, hidden, mlp, vocab):
    """Per mode: the decoder linears (q, k, v, o: hidden^2; gate, up, down: hidden x mlp;
    8-bit with a float32 scale per output row, NF4 as :func:`nf4_bytes`), and the
    other LLM weights (embeddings and lm_head vocab x hidden, 2 norms per layer + the
    final one, in bf16; the rotary buffers)."""
    linears = {
        'bf16': 2 * layers * (4 * hidden**2 + 3 * hidden * mlp),
        '8bit': layers * (4 * (hidden**2 + 4 * hidden) + 2 * (mlp * hidden + 4 * mlp) +
                          hidden * mlp + 4 * hidden),
        '4bit': layers * (4 * nf4_bytes(hidden**2) + 3 * nf4_bytes(hidden * mlp)),
    }
    other = 2 * (2 * vocab * hidden + (2 * layers + 1) * hidden) + ROTARY_BYTES
    return linears, other


@pytest.mark.parametrize('variant, vit_tokens, qformer, head_in, llm, lora', [
    ('vicuna-7b', 257, True, 768, (32, 4096, 11008, 32001), 0),
    ('vicuna-13b', 257, True, 768, (40, 5120, 13824, 32001), 0),
    ('llama2-7b', 257, False, 4 * 1408, (32, 4096, 11008, 32000), 0),
    # LoRA r 64 on q and v of 32 layers: A (64, 4096) + B (4096, 64) in float32.
    ('minigptv2', 1025, False, 4 * 1408, (32, 4096, 11008, 32000), 32 * 2 * 2 * 64 * 4096 * 4),
])
def test_full_size_parts_and_totals_by_hand(full_size, variant, vit_tokens, qformer, head_in,
                                            llm, lora):
    model = full_size[variant]
    hidden = llm[1]
    linears, llm_other = llama_bytes(*llm)
    expected = dict(
        vision_encoder=2 * vit_g_values(vit_tokens),  # bf16 / fp16
        ln_vision=2 * 1408 * 4,  # float32
        neck=4 * qformer_values() if qformer else 0,  # float32
        head=4 * (hidden * head_in + hidden),  # float32
        llm_other=llm_other, lora=lora,
        other=2 * 3 * 4)  # the data preprocessor's mean and std
    for mode, quantization in (('bf16', None), ('8bit', '8bit'), ('4bit', '4bit')):
        parts = weight_bytes(model, quantization)
        assert parts == dict(expected, llm_linears=linears[mode],
                             total=sum(expected.values()) + linears[mode]), mode


def test_full_size_numbers_match_published_parameter_counts(full_size):
    linears, other = llama_bytes(32, 4096, 11008, 32000)
    # Llama-2-7B: 6,738,415,616 parameters (reference §6.3), 13.48 GB in bf16.
    assert (linears['bf16'] + other - ROTARY_BYTES) // 2 == 6_738_415_616
    # LLaMA-13B with 32,000 tokens: 13,015,864,320 (Vicuna-13B v0 adds one 5120-row pair).
    linears, other = llama_bytes(40, 5120, 13824, 32000)
    assert (linears['bf16'] + other - ROTARY_BYTES) // 2 == 13_015_864_320
    # The weights behind the targets, GB = 10^9 bytes.
    totals = {(v, m): weight_bytes(full_size[v], q)['total'] / 1e9
              for v, m, q in (('vicuna-7b', 'bf16', None), ('vicuna-7b', '8bit', '8bit'),
                              ('vicuna-7b', '4bit', '4bit'), ('vicuna-13b', '8bit', '8bit'),
                              ('minigptv2', '4bit', '4bit'))}
    assert totals == pytest.approx({
        ('vicuna-7b', 'bf16'): 15.882, ('vicuna-7b', '8bit'): 9.411,
        ('vicuna-7b', '4bit'): 6.271, ('vicuna-13b', '8bit'): 15.761,
        ('minigptv2', '4bit'): 6.066}, abs=1e-3)


def test_meta_builds_hold_no_memory_and_keep_the_configs_dtypes(full_size):
    model = full_size['minigptv2']
    assert all(p.is_meta for p in model.parameters())
    assert model.vision_encoder.pos_embed.dtype == torch.bfloat16
    assert model.llm.lm_head.weight.dtype == torch.bfloat16
    assert model.neck is None and model.ln_vision.weight.dtype == torch.float32
