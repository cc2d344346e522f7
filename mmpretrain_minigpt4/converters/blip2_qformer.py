"""BLIP-2's Q-Former (LAVIS names) -> ``neck.*`` (transformers' Q-Former) and ``ln_vision.*``.

The official source is ``blip2_pretrained_flant5xxl.pth`` (``{'model': ...}``);
mmpretrain's ``minigpt-4_qformer_*.pth`` has the same keys under ``q_former.``.
"""
from typing import Dict

import torch

from .converted_weights import ConversionError, ConvertedWeights
from .key_mapping import KeyMapping

QFORMER_MARKER = 'query_tokens'
_LAYER = '.bert.encoder.layer.{n}.'
_NECK_LAYER = 'neck.qformer.encoder.layer.{n}.'


def qformer_mapping(root: str = 'Qformer') -> KeyMapping:
    """Renames for a LAVIS-style Q-Former whose BERT sits under ``root``.

    ``attention.self`` becomes ``attention.attention`` (also in
    cross-attention) and the embeddings' LayerNorm becomes the top-level
    ``layernorm``; the rest keeps its name. ``ln_vision`` (trained with the
    Q-Former in BLIP-2, so saved with it) is taken as it is.
    """
    kept_layer_parts = ('attention.output.', 'crossattention.output.', 'intermediate_query.',
                        'output_query.')
    return KeyMapping(
        renames=(
            ('query_tokens', 'neck.query_tokens'),
            (root + '.bert.embeddings.LayerNorm.', 'neck.qformer.layernorm.'),
            (root + _LAYER + 'attention.self.', _NECK_LAYER + 'attention.attention.'),
            (root + _LAYER + 'crossattention.self.', _NECK_LAYER + 'crossattention.attention.'),
            *((root + _LAYER + part, _NECK_LAYER + part) for part in kept_layer_parts),
            ('ln_vision.', 'ln_vision.'),
        ),
        drops=(
            (root + '.bert.embeddings.position_ids',
             'buffer of the text embeddings (queries get no position embedding)'),
            (root + '.bert.embeddings.word_embeddings.', 'text embedding (queries only here)'),
            (root + '.bert.embeddings.position_embeddings.', 'text embedding (queries only here)'),
            (root + _LAYER + 'intermediate.', 'text-only feed-forward (queries only here)'),
            (root + _LAYER + 'output.', 'text-only feed-forward (queries only here)'),
            (root + '.cls.', 'masked-language-model head (not used)'),
            ('t5_proj.', "BLIP-2's projection into FlanT5 (MiniGPT-4 has its own llama_proj)"),
        ))


def convert_blip2_qformer(state_dict: Dict[str, torch.Tensor], source: str,
                          root: str = 'Qformer') -> ConvertedWeights:
    """Map a BLIP-2 Q-Former checkpoint onto ``neck.*`` and ``ln_vision.*``.

    Args:
        state_dict: The file's ``'model'`` (or ``'state_dict'``) tensors.
        source (str): The file, for the report and errors.
        root (str): Module name of the Q-Former in the file: 'Qformer'
            (LAVIS) or 'q_former' (mmpretrain).

    Returns:
        ConvertedWeights: ``neck.query_tokens``, ``neck.qformer.*`` and
        ``ln_vision.*``; text-only parts and ``t5_proj`` are reported dropped.
    """
    if QFORMER_MARKER not in state_dict:
        raise ConversionError(f'{source} is not a BLIP-2 Q-Former checkpoint like '
                              f'blip2_pretrained_flant5xxl.pth: it has no {QFORMER_MARKER!r}.')
    return qformer_mapping(root).convert(state_dict, source)
