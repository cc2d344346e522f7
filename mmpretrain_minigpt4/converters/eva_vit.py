"""``eva_vit_g.pth`` (LAVIS' EVA ViT-g/14, bare state dict) -> ``vision_encoder.*``."""
import re
from typing import Dict, Optional

import torch

from ..models.backbones import interpolate_pos_embed
from .converted_weights import ConversionError, ConvertedWeights
from .key_mapping import KeyMapping

# The plugin's EVAViT uses the official parameter names.
EVA_VIT_MAPPING = KeyMapping(renames=(
    ('cls_token', 'vision_encoder.cls_token'),
    ('pos_embed', 'vision_encoder.pos_embed'),
    ('patch_embed.proj.', 'vision_encoder.patch_embed.proj.'),
    ('blocks.{n}.', 'vision_encoder.blocks.{n}.'),
))
EVA_VIT_MARKER = 'patch_embed.proj.weight'


def blocks_beyond_depth(state_dict: Dict[str, torch.Tensor], block_prefix: str,
                        num_layers: int) -> Dict[str, str]:
    """``{key: reason}`` for the keys of blocks the model does not build.

    MiniGPT-4 builds 39 of EVA-CLIP-g's 40 blocks (BLIP-2 uses the
    second-to-last layer's features), so ``blocks.39.*`` is dropped.
    """
    pattern = re.compile('^' + re.escape(block_prefix) + r'(\d+)\.')
    beyond = {}
    for key in state_dict:
        match = pattern.match(key)
        if match and int(match[1]) >= num_layers:
            beyond[key] = f'block {match[1]} is beyond the model depth ({num_layers} blocks)'
    return beyond


def resize_pos_embed(weights: ConvertedWeights, num_patches: Optional[int]) -> None:
    """Interpolate ``vision_encoder.pos_embed`` in place to ``num_patches`` (+ CLS)."""
    key = 'vision_encoder.pos_embed'
    pos_embed = weights.tensors.get(key)
    if num_patches is None or pos_embed is None or pos_embed.shape[1] == num_patches + 1:
        return
    try:
        weights.tensors[key] = interpolate_pos_embed(pos_embed, num_patches)
    except ValueError as error:
        raise ConversionError(f'{weights.origins[key]}: {error}') from error
    weights.notes.append(f'{weights.origins[key]}: resized from {pos_embed.shape[1] - 1} to '
                         f'{num_patches} patches (bicubic)')


def convert_vit_layout(state_dict: Dict[str, torch.Tensor], source: str, mapping: KeyMapping,
                       block_prefix: str, num_layers: int,
                       num_patches: Optional[int]) -> ConvertedWeights:
    """Rename a ViT file's keys, drop blocks beyond ``num_layers``, resize ``pos_embed``."""
    weights = mapping.convert(
        state_dict, source, skip=blocks_beyond_depth(state_dict, block_prefix, num_layers))
    resize_pos_embed(weights, num_patches)
    return weights


def convert_eva_vit(state_dict: Dict[str, torch.Tensor], source: str, num_layers: int,
                    num_patches: Optional[int] = None) -> ConvertedWeights:
    """Map the official EVA ViT-g weights onto ``vision_encoder.*``.

    Args:
        state_dict: ``eva_vit_g.pth``'s tensors.
        source (str): The file, for the report and errors.
        num_layers (int): Blocks the model builds (39); later blocks are dropped.
        num_patches (int, optional): Patches of the model's image size
            (256 at 224 px, 1024 at 448 px); ``pos_embed`` is interpolated
            when the file's grid differs. None keeps it.

    Returns:
        ConvertedWeights: ``vision_encoder.*`` tensors, dropped blocks reported.
    """
    if EVA_VIT_MARKER not in state_dict:
        raise ConversionError(f'{source} is not an EVA ViT checkpoint like eva_vit_g.pth: it '
                              f'has no {EVA_VIT_MARKER!r}.')
    return convert_vit_layout(state_dict, source, EVA_VIT_MAPPING, 'blocks.', num_layers,
                              num_patches)
