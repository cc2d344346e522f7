"""Build the frozen LLM: any transformers causal LM, from a local directory or a config,
optionally in 8 / 4 bits and with LoRA (MiniGPT-v2)."""
import os.path as osp
from typing import Optional

import torch
import transformers
from mmpretrain.registry import MODELS
from packaging.version import Version
from transformers import AutoConfig, AutoModelForCausalLM, PreTrainedModel

from .lora import LORA_SETTINGS, add_lora
from .quantization import (bitsandbytes_config, check_quantization, check_quantized,
                           default_quantization_device)

# transformers 4.56 renamed ``torch_dtype`` to ``dtype``.
_DTYPE_KWARG = 'dtype' if Version(transformers.__version__) >= Version('4.56') else 'torch_dtype'


@MODELS.register_module('HFCausalLM')
def build_hf_causal_lm(name_or_path: Optional[str] = None,
                       config: Optional[dict] = None,
                       dtype: str = 'float16',
                       attn_implementation: str = 'sdpa',
                       lora: Optional[dict] = None,
                       quantization: Optional[str] = None,
                       **from_pretrained_kwargs) -> PreTrainedModel:
    """A transformers causal LM (Vicuna, Llama-2, ...), never downloaded.

    Args:
        name_or_path (str, optional): Local Hugging Face model directory.
        config (dict, optional): Instead of a directory: a config dict with a
            ``model_type`` (e.g. ``'llama'``); weights are randomly initialised
            (tests, benchmarks).
        dtype (str): Parameter dtype, e.g. ``'float16'`` (official),
            ``'bfloat16'``, ``'float32'``. Defaults to 'float16'.
        attn_implementation (str): Defaults to 'sdpa'.
        lora (dict, optional): LoRA added after the weights are loaded, with
            keys ``r``, ``alpha``, ``dropout`` and ``target_modules`` (see
            :func:`~.lora.add_lora`, which documents the parameter names),
            e.g. MiniGPT-v2's ``dict(r=64, alpha=16, dropout=0.05,
            target_modules=['q_proj', 'v_proj'])``. Defaults to None (no LoRA).
            Over a quantized LLM this is QLoRA: the factors stay in float32.
        quantization (str, optional): ``'8bit'`` (LLM.int8, the official
            ``low_resource``) or ``'4bit'`` (NF4, double quantization, bf16
            compute) through bitsandbytes; see :mod:`.quantization`. Needs
            ``name_or_path``; the weights load straight onto ``device_map``
            (default: this process's GPU, else the CPU). Defaults to None.
        **from_pretrained_kwargs: Passed to ``from_pretrained`` (e.g.
            ``device_map``, ``max_memory``).

    Raises:
        FileNotFoundError: If ``name_or_path`` is not a local directory.
        ValueError: For bad ``lora`` settings, or a quantization that cannot run.
        ImportError: For a quantization without bitsandbytes installed.
    """
    if (name_or_path is None) == (config is None):
        raise ValueError('Set exactly one of `model.llm.name_or_path` (a local model '
                         'directory) and `model.llm.config`.')
    if lora is not None and (not isinstance(lora, dict) or set(lora) - set(LORA_SETTINGS)):
        raise ValueError(f'model.llm.lora must be a dict with keys among {list(LORA_SETTINGS)}, '
                         f'got {lora!r}.')
    if quantization is not None:
        if 'quantization_config' in from_pretrained_kwargs:
            raise ValueError('Set model.llm.quantization or model.llm.quantization_config, '
                             'not both.')
        if config is not None:
            raise ValueError(f"model.llm.quantization='{quantization}' quantizes weights while "
                             'they load: set model.llm.name_or_path (a model directory) instead '
                             'of model.llm.config.')
        device_map = from_pretrained_kwargs.setdefault('device_map',
                                                       default_quantization_device())
        check_quantization(quantization, _single_device(device_map))
        from_pretrained_kwargs['quantization_config'] = bitsandbytes_config(quantization)
    llm = _load_llm(name_or_path, config, getattr(torch, dtype), attn_implementation,
                    from_pretrained_kwargs)
    if quantization is not None:
        check_quantized(llm, quantization, name_or_path)
    if lora is not None:
        add_lora(llm, **lora)
    # The weights are complete here (loaded or initialised). MMEngine's
    # BaseModule.init_weights, which the Runner calls, would otherwise run
    # transformers' init_weights, which re-draws modules it did not build
    # itself: the LoRA factors (B would no longer start at zero).
    llm.is_init = True
    return llm


def _single_device(device_map):
    """The device a ``device_map`` names (for the checks: the first of a dict)."""
    if isinstance(device_map, dict):
        device_map = next(iter(device_map.values()), 'cpu')
    if isinstance(device_map, int):
        return f'cuda:{device_map}'
    return 'cuda' if device_map in ('auto', 'balanced', 'sequential') else device_map


def _load_llm(name_or_path: Optional[str], config: Optional[dict], torch_dtype: torch.dtype,
              attn_implementation: str, from_pretrained_kwargs: dict) -> PreTrainedModel:
    """The LLM from its directory or, randomly initialised, from its config."""
    if config is not None:
        config = dict(config)
        hf_config = AutoConfig.for_model(config.pop('model_type'), **config)
        return AutoModelForCausalLM.from_config(
            hf_config, attn_implementation=attn_implementation, **{_DTYPE_KWARG: torch_dtype})
    if not osp.isdir(osp.expanduser(name_or_path)):
        raise FileNotFoundError(
            f'LLM directory not found: {name_or_path!r}. Set `model.llm.name_or_path` to '
            'the local Hugging Face directory of the LLM (e.g. Vicuna-7B v0); nothing is '
            'downloaded.')
    return AutoModelForCausalLM.from_pretrained(
        osp.expanduser(name_or_path),
        attn_implementation=attn_implementation,
        local_files_only=True,
        **{_DTYPE_KWARG: torch_dtype},
        **from_pretrained_kwargs)
