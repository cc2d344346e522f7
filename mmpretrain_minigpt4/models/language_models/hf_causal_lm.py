"""Build the frozen LLM: any transformers causal LM, from a local directory or a config."""
import os.path as osp
from typing import Optional

import torch
import transformers
from mmpretrain.registry import MODELS
from packaging.version import Version
from transformers import AutoConfig, AutoModelForCausalLM, PreTrainedModel

# transformers 4.56 renamed ``torch_dtype`` to ``dtype``.
_DTYPE_KWARG = 'dtype' if Version(transformers.__version__) >= Version('4.56') else 'torch_dtype'


@MODELS.register_module('HFCausalLM')
def build_hf_causal_lm(name_or_path: Optional[str] = None,
                       config: Optional[dict] = None,
                       dtype: str = 'float16',
                       attn_implementation: str = 'sdpa',
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
        **from_pretrained_kwargs: Passed to ``from_pretrained`` (e.g.
            ``quantization_config``).

    Raises:
        FileNotFoundError: If ``name_or_path`` is not a local directory.
    """
    if (name_or_path is None) == (config is None):
        raise ValueError('Set exactly one of `model.llm.name_or_path` (a local model '
                         'directory) and `model.llm.config`.')
    torch_dtype = getattr(torch, dtype)
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
