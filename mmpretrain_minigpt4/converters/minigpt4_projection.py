"""MiniGPT-4's trained ``llama_proj`` (``pretrained_minigpt4*.pth``) -> ``head.proj.*``
(and, kept, MiniGPT-v2's LoRA of the LLM)."""
from typing import Dict, Optional

import torch

from .converted_weights import ConversionError, ConvertedWeights
from .key_mapping import KeyMapping
from .minigptv2_lora import convert_minigptv2_lora

# What to do with a MiniGPT-v2 file's LoRA of the LLM.
LORA_MODES = ('keep', 'merged')

PROJECTION_MARKER = 'llama_proj.weight'

# The official runner saves every trainable parameter plus every buffer, so
# the file also holds buffers of frozen parts (Q-Former position_ids, the
# April-2023 Llama's rotary inv_freq); only llama_proj was trained.
PROJECTION_MAPPING = KeyMapping(
    renames=(('llama_proj.', 'head.proj.'), ),
    drops=(
        ('Qformer.bert.embeddings.position_ids', 'buffer (the Q-Former comes from BLIP-2)'),
        ('llama_model.model.layers.{n}.self_attn.rotary_emb.inv_freq',
         'buffer (recomputed by the LLM)'),
    ))


def convert_minigpt4_projection(state_dict: Dict[str, torch.Tensor], source: str,
                                lora: Optional[str] = None) -> ConvertedWeights:
    """Map a MiniGPT-4 checkpoint's ``llama_proj`` onto ``head.proj.*``.

    Args:
        state_dict: The file's ``'model'`` (official) or ``'state_dict'``
            (mmpretrain's ``minigpt-4_linear_*.pth``) tensors.
        source (str): The file, for the report and errors.
        lora (str, optional): What to do with a MiniGPT-v2 file's LoRA
            weights of the LLM: 'keep' them as the plugin's LoRA keys (see
            :func:`convert_minigptv2_lora`; the file must have them), or drop
            them as 'merged' into the LLM directory
            (``merge_minigptv2_lora.py``). None makes them an error: the model
            would silently run without them. Defaults to None.

    Returns:
        ConvertedWeights: ``head.proj.weight`` and ``head.proj.bias``, and with
        'keep' the LoRA factors.
    """
    if lora not in (None, ) + LORA_MODES:
        raise ValueError(f'lora must be None or one of {LORA_MODES}, got {lora!r}.')
    if PROJECTION_MARKER not in state_dict:
        raise ConversionError(f'{source} is not a MiniGPT-4 checkpoint like '
                              f'pretrained_minigpt4_7b.pth: it has no {PROJECTION_MARKER!r}.')
    lora_keys = [key for key in state_dict if '.lora_' in key]
    if lora_keys and lora is None:
        raise ConversionError(
            f'{source} holds LoRA weights of the LLM (e.g. {lora_keys[0]!r}), as MiniGPT-v2 '
            'checkpoints do: keep them as LoRA with --keep-lora (a config with '
            'model.llm.lora), or merge them into the LLM directory with '
            'tools/model_converters/merge_minigptv2_lora.py, then convert with --lora-merged.')
    if lora == 'keep':
        projection = {key: tensor for key, tensor in state_dict.items() if '.lora_' not in key}
        return PROJECTION_MAPPING.convert(projection, source).update(
            convert_minigptv2_lora(state_dict, source))
    merged = 'LoRA of the LLM (merged into the LLM directory by merge_minigptv2_lora.py)'
    return PROJECTION_MAPPING.convert(state_dict, source, skip=dict.fromkeys(lora_keys, merged))
