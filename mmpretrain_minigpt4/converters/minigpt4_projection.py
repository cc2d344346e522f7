"""MiniGPT-4's trained ``llama_proj`` (``pretrained_minigpt4*.pth``) -> ``head.proj.*``."""
from typing import Dict

import torch

from .converted_weights import ConversionError, ConvertedWeights
from .key_mapping import KeyMapping

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
                                lora_merged: bool = False) -> ConvertedWeights:
    """Map a MiniGPT-4 checkpoint's ``llama_proj`` onto ``head.proj.*``.

    Args:
        state_dict: The file's ``'model'`` (official) or ``'state_dict'``
            (mmpretrain's ``minigpt-4_linear_*.pth``) tensors.
        source (str): The file, for the report and errors.
        lora_merged (bool): A MiniGPT-v2 file's LoRA weights of the LLM have
            been merged into the LLM directory (``merge_minigptv2_lora.py``),
            so they are dropped here. Without it they are an error: the model
            would silently run without them. Defaults to False.

    Returns:
        ConvertedWeights: ``head.proj.weight`` and ``head.proj.bias``.
    """
    if PROJECTION_MARKER not in state_dict:
        raise ConversionError(f'{source} is not a MiniGPT-4 checkpoint like '
                              f'pretrained_minigpt4_7b.pth: it has no {PROJECTION_MARKER!r}.')
    lora_keys = [key for key in state_dict if '.lora_' in key]
    if lora_keys and not lora_merged:
        raise ConversionError(
            f'{source} holds LoRA weights of the LLM (e.g. {lora_keys[0]!r}), as MiniGPT-v2 '
            'checkpoints do: merge them into the LLM directory with '
            'tools/model_converters/merge_minigptv2_lora.py, then convert with --lora-merged.')
    merged = 'LoRA of the LLM (merged into the LLM directory by merge_minigptv2_lora.py)'
    return PROJECTION_MAPPING.convert(state_dict, source, skip=dict.fromkeys(lora_keys, merged))
