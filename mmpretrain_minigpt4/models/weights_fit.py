"""Weights about to be loaded into MiniGPT4 must fit it: known keys, same shapes, finite, complete.

PyTorch's ``strict=False`` loading (which MMEngine uses everywhere) turns a
checkpoint of another variant, an unconverted official file or a half-written
one into log warnings, and the model then answers from a random projection.
:func:`check_weights_fit` refuses such a state dict before anything is copied.
"""
from collections import defaultdict
from typing import Dict, Iterable, List, Mapping

import torch

_LISTED = 5
# Top-level keys of the official LAVIS-runner files ({'model': ..., 'optimizer': ...})
# and the projection's official name: such a file needs the converter first.
_OFFICIAL_MARKERS = ('model', 'llama_proj.weight')
CONVERTER_HINT = ('it looks like an official MiniGPT-4 file: convert it first with '
                  'tools/model_converters/convert_minigpt4_weights.py (docs/converting_weights.md)')


class WeightsMismatchError(ValueError):
    """A state dict does not fit the model; the message names the file and the keys."""


def _listed(keys: List[str]) -> str:
    shown = ', '.join(repr(k) for k in keys[:_LISTED])
    return shown + (f' and {len(keys) - _LISTED} more' if len(keys) > _LISTED else '')


def _shape_of(value) -> str:
    return str(tuple(value.shape)) if isinstance(value, torch.Tensor) else (
        f'a {type(value).__name__}, not a tensor')


def has_non_finite_values(tensor: torch.Tensor) -> bool:
    """Whether a floating-point tensor holds NaN or Inf (meta tensors hold no values)."""
    return (tensor.is_floating_point() and tensor.device.type != 'meta'
            and not bool(torch.isfinite(tensor).all()))


def part_of(key: str) -> str:
    """The top-level module of a key: ``'neck.qformer.layernorm.weight'`` -> ``'neck'``."""
    return key.split('.', 1)[0]


def check_weights_fit(state_dict: Mapping, expected_shapes: Mapping[str, torch.Size],
                      required_keys: Iterable[str], frozen_parameters: Iterable[str],
                      source: str) -> None:
    """Check a state dict (model keys, no prefix) against the model, before loading it.

    Args:
        state_dict (Mapping): Key -> tensor, about to be loaded.
        expected_shapes (Mapping): Every key the model has -> its shape.
        required_keys (Iterable[str]): Keys that must be present (e.g. the
            trainable projection and LoRA factors).
        frozen_parameters (Iterable[str]): Frozen parameter names; a part
            (``vision_encoder``, ``neck``, ``llm``, ...) whose frozen
            parameters the state dict holds any of must be held whole.
            Trainable tensors inside a frozen part (the LLM's LoRA factors)
            do not make it held: a checkpoint of the projection and the LoRA
            fits without the frozen LLM.
        source (str): The file (or 'the state dict'), for messages.

    Raises:
        WeightsMismatchError: Listing unexpected keys (with a hint for official
            files), mis-shaped keys, non-finite tensors or missing keys.
    """
    if not state_dict:
        raise WeightsMismatchError(f'{source} holds no weights (an empty state dict).')
    unexpected = [key for key in state_dict if key not in expected_shapes]
    if unexpected:
        hint = (f'; {CONVERTER_HINT}' if any(key in _OFFICIAL_MARKERS for key in unexpected)
                else '; is it a checkpoint of another model or variant?')
        raise WeightsMismatchError(f'{source} has keys this MiniGPT4 does not have: '
                                   f'{_listed(unexpected)}{hint}')
    mismatched = [f'{key!r} is {_shape_of(value)} in the file, {tuple(expected_shapes[key])} '
                  'in the model' for key, value in state_dict.items()
                  if not isinstance(value, torch.Tensor) or value.shape != expected_shapes[key]]
    if mismatched:
        raise WeightsMismatchError(
            f'{source} does not fit the model (a checkpoint of another variant, or converted '
            f'for another image size?): {"; ".join(mismatched[:_LISTED])}')
    not_finite = [key for key, value in state_dict.items() if has_non_finite_values(value)]
    if not_finite:
        raise WeightsMismatchError(f'{source} has NaN or infinite values in '
                                   f'{_listed(not_finite)}: the weights are broken.')
    missing = missing_keys(state_dict, required_keys, frozen_parameters)
    if missing:
        raise WeightsMismatchError(f'{source} lacks {_listed(missing)} ({len(missing)} keys '
                                   'missing): the model would run with random weights there.')


def missing_keys(state_dict: Mapping, required_keys: Iterable[str],
                 frozen_parameters: Iterable[str]) -> List[str]:
    """Required keys, and frozen parameters of every part the state dict holds
    frozen parameters of, it lacks."""
    by_part: Dict[str, List[str]] = defaultdict(list)
    for key in frozen_parameters:
        by_part[part_of(key)].append(key)
    frozen = {key for keys in by_part.values() for key in keys}
    touched = {part_of(key) for key in state_dict if key in frozen}
    needed = set(required_keys)
    for part in touched:
        needed.update(by_part.get(part, ()))
    return sorted(key for key in needed if key not in state_dict)


def strip_prefix(state_dict: Mapping, prefix: str) -> dict:
    """The entries under ``prefix`` with it removed (the whole dict for '')."""
    if not prefix:
        return dict(state_dict)
    return {key[len(prefix):]: value for key, value in state_dict.items()
            if key.startswith(prefix)}
