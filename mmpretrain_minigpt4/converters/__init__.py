"""Turn the official MiniGPT-4 weight files into one checkpoint of this plugin.

One module per kind of file (pure key mappings), plus the assembly that checks
the result against the model built from a config.
"""
from .blip2_qformer import convert_blip2_qformer, qformer_mapping
from .converted_weights import ConversionError, ConvertedWeights, DroppedKey, KeyOrigin
from .eva_vit import blocks_beyond_depth, convert_eva_vit
from .key_mapping import KeyMapping
from .minigpt4_checkpoint import (ConversionReport, build_image_side_model, check_weights,
                                  convert_minigpt4_checkpoint, convert_qformer,
                                  convert_vision_encoder)
from .minigpt4_projection import convert_minigpt4_projection
from .minigptv2_lora import (LoRAUpdate, convert_minigptv2_lora, lora_updates,
                             merge_lora_into_llm)
from .mmpretrain_checkpoints import convert_mmpretrain_eva_vit, convert_mmpretrain_qformer
from .source_checkpoint import load_source_state_dict

__all__ = [
    'KeyMapping', 'ConvertedWeights', 'KeyOrigin', 'DroppedKey', 'ConversionError',
    'load_source_state_dict', 'blocks_beyond_depth', 'convert_eva_vit', 'qformer_mapping',
    'convert_blip2_qformer', 'convert_minigpt4_projection', 'convert_mmpretrain_eva_vit',
    'convert_mmpretrain_qformer', 'convert_vision_encoder', 'convert_qformer',
    'build_image_side_model', 'check_weights', 'ConversionReport', 'convert_minigpt4_checkpoint',
    'LoRAUpdate', 'lora_updates', 'merge_lora_into_llm', 'convert_minigptv2_lora'
]
