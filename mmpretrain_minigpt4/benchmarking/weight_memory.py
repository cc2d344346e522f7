"""The exact bytes of a MiniGPT-4's weights per part, in float or with the LLM as
bitsandbytes stores it in 8 or 4 bits, computed from the float model's shapes (any
device, ``meta`` included: no memory, no file).

bitsandbytes (0.50) storage, as :mod:`~..models.language_models.quantization` asks
transformers for it:

- ``'8bit'`` (LLM.int8, ``Linear8bitLt``): the weight in int8 (one byte each) and one
  float32 scale per output row (``weight.SCB``). Outlier columns are found in the
  activations at run time: nothing is stored for them.
- ``'4bit'`` (NF4 with double quantization, ``Linear4bit``): two weights per byte and
  one absmax per block of 64 weights (transformers passes no blocksize; 64 is
  ``Params4bit``'s default). Double quantization stores those absmax as uint8 codes
  (blockwise, 256 per block) plus one float32 absmax per 256 blocks, their float32 mean
  (``offset``) and two float32 code tables per layer: NF4's 16 values and the 256 of the
  nested dynamic map.

Biases (none in Llama) keep their dtype. What ``state_dict`` only creates while it
serialises (8-bit ``weight_format``, the 4-bit JSON ``quant_state.bitsandbytes__nf4``)
is not held in memory and not counted. transformers quantizes every ``nn.Linear`` of the
LLM but its output embeddings (``lm_head``); peft adds LoRA afterwards, over the
quantized base, with float32 factors.
"""
from typing import Dict, Iterable, List, Optional

import torch
from torch import nn

from ..models.language_models.lora import lora_parameters

NF4_BLOCKSIZE = 64
NESTED_BLOCKSIZE = 256
NF4_CODE_VALUES = 16
NESTED_CODE_VALUES = 256
FLOAT32_BYTES = 4
# The model's own parts (its attributes); the LLM is split in three.
MODEL_PARTS = ('vision_encoder', 'ln_vision', 'neck', 'head')
LLM_PARTS = ('llm_linears', 'llm_other', 'lora')
PARTS = MODEL_PARTS + LLM_PARTS + ('other', )


def int8_linear_bytes(out_features: int, in_features: int) -> int:
    """Bytes of an LLM.int8 weight (out, in): int8 values and a float32 scale per row."""
    return out_features * in_features + FLOAT32_BYTES * out_features


def nf4_linear_bytes(out_features: int, in_features: int) -> int:
    """Bytes of an NF4 weight (out, in) with double quantization (see the module)."""
    values = out_features * in_features
    blocks = -(-values // NF4_BLOCKSIZE)
    nested_blocks = -(-blocks // NESTED_BLOCKSIZE)
    packed = (values + 1) // 2
    float32_values = nested_blocks + 1 + NF4_CODE_VALUES + NESTED_CODE_VALUES
    return packed + blocks + FLOAT32_BYTES * float32_values


QUANTIZED_WEIGHT_BYTES = {'8bit': int8_linear_bytes, '4bit': nf4_linear_bytes}


def tensor_bytes(tensors: Iterable[torch.Tensor]) -> int:
    """Bytes of distinct tensors (by identity), from their shapes and dtypes."""
    distinct = {id(t): t for t in tensors}
    return sum(t.numel() * t.element_size() for t in distinct.values())


def module_tensors(module: nn.Module, recurse: bool = True) -> List[torch.Tensor]:
    """Parameters and buffers of ``module``."""
    return [*module.parameters(recurse=recurse), *module.buffers(recurse=recurse)]


def quantized_linears(llm: nn.Module) -> List[nn.Linear]:
    """The ``nn.Linear`` layers bitsandbytes replaces: all but the output embeddings
    and LoRA's factors."""
    lora = {id(p) for p in lora_parameters(llm)}
    output = llm.get_output_embeddings()
    return [m for m in llm.modules()
            if isinstance(m, nn.Linear) and m is not output and id(m.weight) not in lora]


def llm_weight_bytes(llm: nn.Module, quantization: Optional[str] = None) -> Dict[str, int]:
    """``llm_linears`` (the layers :func:`quantized_linears` names, in float or as
    ``quantization`` stores them), ``llm_other`` (embeddings, norms, ``lm_head``,
    buffers) and ``lora`` (the factors) of a float LLM."""
    if quantization not in (None, *QUANTIZED_WEIGHT_BYTES):
        raise ValueError(f'quantization must be None or one of {list(QUANTIZED_WEIGHT_BYTES)}, '
                         f'got {quantization!r}.')
    linears = quantized_linears(llm)
    linear_ids = {id(t) for m in linears for t in m.parameters()}
    lora = list(lora_parameters(llm))
    lora_ids = {id(p) for p in lora}
    other = [t for t in module_tensors(llm) if id(t) not in linear_ids | lora_ids]
    if quantization is None:
        linear_bytes = tensor_bytes(t for m in linears for t in m.parameters())
    else:
        weight_bytes_of = QUANTIZED_WEIGHT_BYTES[quantization]
        linear_bytes = sum(weight_bytes_of(m.out_features, m.in_features) for m in linears)
        linear_bytes += tensor_bytes(m.bias for m in linears if m.bias is not None)
    return dict(llm_linears=linear_bytes, llm_other=tensor_bytes(other),
                lora=tensor_bytes(lora))


def weight_bytes(model: nn.Module, quantization: Optional[str] = None) -> Dict[str, int]:
    """Bytes per part of a float ``MiniGPT4`` with its LLM in ``quantization``
    (None, ``'8bit'``, ``'4bit'``).

    Returns:
        dict: :data:`PARTS` (``neck`` is 0 without a Q-Former; ``other`` is what is
        outside them: the data preprocessor's mean and std) and ``total``.
    """
    parts = {name: tensor_bytes(module_tensors(getattr(model, name)))
             if getattr(model, name) is not None else 0 for name in MODEL_PARTS}
    parts.update(llm_weight_bytes(model.llm, quantization))
    outside = [t for name, child in model.named_children()
               if name not in (*MODEL_PARTS, 'llm') for t in module_tensors(child)]
    parts['other'] = tensor_bytes(outside + module_tensors(model, recurse=False))
    parts['total'] = sum(parts.values())
    return parts
