"""The LLM in 8 or 4 bits through bitsandbytes (the official ``low_resource`` demo loads it
in 8 bits): the ``model.llm.quantization`` switch.

- ``'8bit'``: LLM.int8 (``load_in_8bit``), as the official ``low_resource=True``;
- ``'4bit'``: NF4 with double quantization and bf16 compute (QLoRA's recipe).

bitsandbytes quantizes while the weights load, onto one device; the rest of the
LLM (embeddings, norms, ``lm_head``) keeps ``model.llm.dtype``. Recent
bitsandbytes releases (>= 0.46) run both modes on CPU too, so the tiny model
tests them there.
"""
import argparse
import importlib.util
from typing import Optional, Union

import torch
from transformers import BitsAndBytesConfig

QUANTIZATION_MODES = ('8bit', '4bit')
# Devices bitsandbytes has backends for.
SUPPORTED_DEVICE_TYPES = ('cuda', 'cpu', 'xpu')


def check_quantization(mode: Optional[str], device: Optional[Union[str, torch.device]]) -> None:
    """Refuse a quantization that cannot run, before anything loads.

    Raises:
        ValueError: For an unknown mode or a device bitsandbytes cannot use.
        ImportError: If bitsandbytes is not installed.
    """
    if mode is None:
        return
    if mode not in QUANTIZATION_MODES:
        raise ValueError(f'model.llm.quantization must be one of {list(QUANTIZATION_MODES)} or '
                         f'None, got {mode!r}.')
    if importlib.util.find_spec('bitsandbytes') is None:
        raise ImportError(f"model.llm.quantization='{mode}' needs bitsandbytes: "
                          "pip install 'bitsandbytes>=0.46' (or unset the switch for a "
                          'float16/bfloat16 LLM).')
    if torch.device(device).type not in SUPPORTED_DEVICE_TYPES:
        raise ValueError(f"model.llm.quantization='{mode}' cannot run on {device!r}: "
                         f'bitsandbytes supports {list(SUPPORTED_DEVICE_TYPES)} devices. Unset '
                         'the switch or choose another device.')


def default_quantization_device() -> str:
    """Where the quantized weights go when no ``device_map`` is given: this process's GPU
    (``LOCAL_RANK`` under torchrun), else the CPU."""
    if torch.cuda.is_available():
        return f'cuda:{torch.cuda.current_device()}'
    return 'cpu'


def bitsandbytes_config(mode: str) -> BitsAndBytesConfig:
    """The transformers ``quantization_config`` of a mode."""
    if mode == '8bit':
        return BitsAndBytesConfig(load_in_8bit=True)
    return BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type='nf4',
                              bnb_4bit_use_double_quant=True,
                              bnb_4bit_compute_dtype=torch.bfloat16)


def count_quantized_linears(llm: torch.nn.Module) -> int:
    """How many of the LLM's linear layers are bitsandbytes 8/4-bit layers."""
    import bitsandbytes as bnb
    return sum(isinstance(m, (bnb.nn.Linear8bitLt, bnb.nn.Linear4bit)) for m in llm.modules())


def check_quantized(llm: torch.nn.Module, mode: str, source: str) -> None:
    """A quantized load must have quantized layers: never a silent float LLM.

    Raises:
        RuntimeError: If no linear layer was quantized.
    """
    if count_quantized_linears(llm) == 0:
        raise RuntimeError(f"model.llm.quantization='{mode}': loading {source!r} quantized no "
                           'linear layer (the LLM would run in float); check the bitsandbytes '
                           'and transformers versions.')


def low_memory_overrides(mode: str, device: Optional[Union[str, torch.device]] = None) -> dict:
    """``model`` config overrides of a quantized LLM, as the official ``low_resource``:
    ``llm.quantization``, the frozen ViT in float16, and the quantized weights loaded
    straight onto ``device`` (default: see :func:`default_quantization_device`).

    What ``--quantization`` of the tools applies; the ``*_8bit.py`` / ``*_4bit.py``
    configs set the same.
    """
    check_quantization(mode, device or default_quantization_device())
    llm = dict(quantization=mode)
    if device is not None:
        llm['device_map'] = {'': str(device)}
    return dict(vision_dtype='float16', llm=llm)


def add_quantization_arguments(parser: argparse.ArgumentParser) -> None:
    """``--quantization 8bit|4bit`` and ``--low-resource`` (the official name for 8 bits)."""
    memory = parser.add_mutually_exclusive_group()
    memory.add_argument('--quantization', choices=QUANTIZATION_MODES,
                        help='the LLM in 8-bit (LLM.int8) or 4-bit NF4 through bitsandbytes, '
                        'the ViT in float16 (7B weights: 9.4 / 6.3 GB; docs/benchmark.md#memory)')
    memory.add_argument('--low-resource', action='store_true',
                        help="the official demo's low_resource: --quantization 8bit")


def quantization_of(args: argparse.Namespace) -> Optional[str]:
    """The mode that :func:`add_quantization_arguments`' flags ask for, or None."""
    return '8bit' if args.low_resource else args.quantization
