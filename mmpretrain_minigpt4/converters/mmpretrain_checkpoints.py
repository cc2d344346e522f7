"""mmpretrain 1.2's converted MiniGPT-4 files -> the plugin's keys.

- ``minigpt-4_eva-g-p14_*.pth``: EVA ViT-g in ``BEiTViT`` names
  (``patch_embed.projection``, ``layers.{i}.ln1`` / ``ln2``,
  ``ffn.layers.0.0`` / ``ffn.layers.1``);
- ``minigpt-4_qformer_*.pth``: ``{'state_dict': ...}`` with the LAVIS Q-Former
  under ``q_former.``, plus ``query_tokens`` and ``ln_vision.*``;
- ``minigpt-4_linear_vicuna7b_*.pth``: ``llama_proj.*`` under ``state_dict``,
  read by :func:`convert_minigpt4_projection` as it is.
"""
from typing import Dict, Optional

import torch

from .blip2_qformer import convert_blip2_qformer
from .converted_weights import ConversionError, ConvertedWeights
from .eva_vit import convert_vit_layout
from .key_mapping import KeyMapping

BEIT_VIT_MARKER = 'patch_embed.projection.weight'
MMPRETRAIN_QFORMER_ROOT = 'q_former'

BEIT_VIT_MAPPING = KeyMapping(renames=(
    ('cls_token', 'vision_encoder.cls_token'),
    ('pos_embed', 'vision_encoder.pos_embed'),
    ('patch_embed.projection.', 'vision_encoder.patch_embed.proj.'),
    ('layers.{n}.ln1.', 'vision_encoder.blocks.{n}.norm1.'),
    ('layers.{n}.ln2.', 'vision_encoder.blocks.{n}.norm2.'),
    ('layers.{n}.attn.', 'vision_encoder.blocks.{n}.attn.'),
    ('layers.{n}.ffn.layers.0.0.', 'vision_encoder.blocks.{n}.mlp.fc1.'),
    ('layers.{n}.ffn.layers.1.', 'vision_encoder.blocks.{n}.mlp.fc2.'),
))


def convert_mmpretrain_eva_vit(state_dict: Dict[str, torch.Tensor], source: str,
                               num_layers: int,
                               num_patches: Optional[int] = None) -> ConvertedWeights:
    """Map mmpretrain's ``BEiTViT`` EVA ViT-g weights onto ``vision_encoder.*``.

    Args and behaviour as :func:`convert_eva_vit` (blocks beyond ``num_layers``
    dropped, ``pos_embed`` interpolated to ``num_patches``).
    """
    if BEIT_VIT_MARKER not in state_dict:
        raise ConversionError(f"{source} is not mmpretrain's minigpt-4_eva-g-p14 checkpoint: "
                              f'it has no {BEIT_VIT_MARKER!r}.')
    return convert_vit_layout(state_dict, source, BEIT_VIT_MAPPING, 'layers.', num_layers,
                              num_patches)


def convert_mmpretrain_qformer(state_dict: Dict[str, torch.Tensor],
                               source: str) -> ConvertedWeights:
    """Map mmpretrain's ``minigpt-4_qformer_*.pth`` onto ``neck.*`` and ``ln_vision.*``."""
    return convert_blip2_qformer(state_dict, source, root=MMPRETRAIN_QFORMER_ROOT)
