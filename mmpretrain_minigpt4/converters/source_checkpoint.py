"""Read an official (or mmpretrain-converted) checkpoint file's tensors, memory-mapped."""
from typing import Dict

import torch

from ..safe_checkpoint_loading import load_checkpoint_file
from .converted_weights import ConversionError

# LAVIS / MiniGPT-4 runners save {'model': ...}; mmpretrain / MMEngine save
# {'state_dict': ...}; eva_vit_g.pth is a bare state dict.
STATE_DICT_WRAPPERS = ('model', 'state_dict')


def load_source_state_dict(path: str, setting: str) -> Dict[str, torch.Tensor]:
    """The tensors of a checkpoint file, memory-mapped when the file allows it.

    Memory-mapping keeps conversion memory bounded: tensors are read from disk
    when they are written out, never all held at once. The file is read with
    the safe unpickler (:func:`~mmpretrain_minigpt4.safe_checkpoint_loading.load_checkpoint_file`).

    Args:
        path (str): The file.
        setting (str): The option that named it (e.g. ``'--eva-vit'``), for errors.

    Returns:
        dict: Key -> tensor: the file itself when it is a state dict, else its
        ``'model'`` or ``'state_dict'`` entry.

    Raises:
        FileNotFoundError: If ``path`` is not a file.
        CheckpointError: If the file is unreadable or would run code.
        ConversionError: If the file holds no state dict of tensors.
    """
    return _state_dict_of(load_checkpoint_file(path, map_location='cpu', setting=setting), path,
                          setting)


def _state_dict_of(checkpoint, path: str, setting: str) -> Dict[str, torch.Tensor]:
    if not isinstance(checkpoint, dict):
        raise ConversionError(f'{setting}: {path} holds a {type(checkpoint).__name__}, '
                              'not a dict of tensors.')
    state_dict = checkpoint
    if not all(isinstance(value, torch.Tensor) for value in checkpoint.values()):
        wrapper = next((key for key in STATE_DICT_WRAPPERS
                        if isinstance(checkpoint.get(key), dict)), None)
        if wrapper is None:
            raise ConversionError(
                f'{setting}: {path} is neither a state dict nor holds one under '
                f'{" or ".join(map(repr, STATE_DICT_WRAPPERS))}; its top-level keys: '
                f'{sorted(map(str, checkpoint))[:10]}')
        state_dict = checkpoint[wrapper]
    for key, value in state_dict.items():
        if not isinstance(value, torch.Tensor):
            raise ConversionError(f'{setting}: {path}: {key!r} is a {type(value).__name__}, '
                                  'not a tensor.')
    if not state_dict:
        raise ConversionError(f'{setting}: {path} holds an empty state dict.')
    return state_dict
