"""The full-size variants and weight modes of the memory benchmark, as ``model`` configs:
the variant's own base config with its LLM built from its architecture (random weights,
no file) or loaded from a directory (what 8 / 4 bits need)."""
import os.path as osp
from typing import NamedTuple, Optional

import torch
from mmengine.config import Config
from mmpretrain.registry import MODELS

from ..package_files import SHIPPED_ROOT

MODEL_CONFIGS = osp.join(SHIPPED_ROOT, 'configs', 'minigpt4', '_base_', 'models')
# The Llama tokenizer (shipped in `wordllama`): the weights do not depend on it.
TOKENIZER = dict(
    type='LlamaSentencePieceTokenizer',
    tokenizer_json='pkg://wordllama/wordllama/tokenizers/l2_supercat_tokenizer_config.json')

# Vicuna v0 adds a pad token to LLaMA's 32,000.
VICUNA_7B = dict(model_type='llama', vocab_size=32001, hidden_size=4096, intermediate_size=11008,
                 num_hidden_layers=32, num_attention_heads=32, num_key_value_heads=32,
                 max_position_embeddings=2048, rms_norm_eps=1e-6)
VICUNA_13B = dict(VICUNA_7B, hidden_size=5120, intermediate_size=13824, num_hidden_layers=40,
                  num_attention_heads=40, num_key_value_heads=40)
LLAMA2_7B = dict(VICUNA_7B, vocab_size=32000, max_position_embeddings=4096, rms_norm_eps=1e-5)


class MemoryVariant(NamedTuple):
    """A model: its base config (a file of ``configs/minigpt4/_base_/models``) and the
    architecture of its LLM (a transformers config dict)."""
    name: str
    base_config: str
    llm_config: dict


class WeightMode(NamedTuple):
    """How the weights are stored: the LLM's quantization (None: float) and the dtypes of
    the LLM's float weights and of the ViT."""
    name: str
    quantization: Optional[str]
    llm_dtype: str
    vision_dtype: str


VARIANTS = {v.name: v for v in (
    MemoryVariant('vicuna-7b', 'minigpt4_vicuna-7b.py', VICUNA_7B),
    MemoryVariant('vicuna-13b', 'minigpt4_vicuna-13b.py', VICUNA_13B),
    MemoryVariant('llama2-7b', 'minigpt4_llama2-chat-7b.py', LLAMA2_7B),
    MemoryVariant('minigptv2', 'minigptv2_llama2-chat-7b.py', LLAMA2_7B),
)}
# 8 / 4 bits as the *_8bit.py / *_4bit.py configs (LLM float16, ViT float16); 16 bits
# with the ViT in bfloat16 too (the configs' default keeps it in float32).
MODES = {m.name: m for m in (
    WeightMode('bf16', None, 'bfloat16', 'bfloat16'),
    WeightMode('8bit', '8bit', 'float16', 'float16'),
    WeightMode('4bit', '4bit', 'float16', 'float16'),
)}


def model_config(variant: MemoryVariant, mode: WeightMode, llm_dir: Optional[str] = None,
                 device: Optional[str] = None) -> dict:
    """The variant's ``model`` config in ``mode``.

    Args:
        variant, mode: What to build.
        llm_dir (str, optional): Load the LLM from this directory, quantized as
            ``mode`` says, onto ``device``. Defaults to None: the LLM is built from
            ``variant.llm_config`` in ``mode.llm_dtype`` (random weights), and a
            quantized mode stays float (the weight formulas take the float model).
        device (str, optional): Where a loaded LLM goes. Defaults to None
            (:func:`~..models.language_models.quantization.default_quantization_device`).
    """
    cfg = Config.fromfile(osp.join(MODEL_CONFIGS, variant.base_config)).model.to_dict()
    llm = dict(type='HFCausalLM', dtype=mode.llm_dtype)
    if 'lora' in cfg['llm']:
        llm['lora'] = cfg['llm']['lora']
    if llm_dir is None:
        llm['config'] = variant.llm_config
    else:
        llm.update(name_or_path=llm_dir, quantization=mode.quantization)
        if device is not None:
            llm['device_map'] = {'': str(device)}
    cfg.pop('init_cfg', None)  # the frozen weights' checkpoint: random weights here
    cfg.update(llm=llm, vision_dtype=mode.vision_dtype, tokenizer=TOKENIZER)
    return cfg


def build_on_meta(variant: MemoryVariant, mode: WeightMode):
    """The float model of ``variant`` in ``mode``'s dtypes on the ``meta`` device (shapes
    only: seconds, no memory)."""
    with torch.device('meta'):
        return MODELS.build(model_config(variant, mode))
