"""Read an official (or mmpretrain-converted) checkpoint file's tensors, memory-mapped."""
import os.path as osp
import pickle
import warnings
import zipfile
from typing import Dict

import torch

from .converted_weights import ConversionError

# LAVIS / MiniGPT-4 runners save {'model': ...}; mmpretrain / MMEngine save
# {'state_dict': ...}; eva_vit_g.pth is a bare state dict.
STATE_DICT_WRAPPERS = ('model', 'state_dict')


def load_source_state_dict(path: str, setting: str) -> Dict[str, torch.Tensor]:
    """The tensors of a checkpoint file, memory-mapped when the file allows it.

    Memory-mapping keeps conversion memory bounded: tensors are read from disk
    when they are written out, never all held at once.

    Args:
        path (str): The file.
        setting (str): The option that named it (e.g. ``'--eva-vit'``), for errors.

    Returns:
        dict: Key -> tensor: the file itself when it is a state dict, else its
        ``'model'`` or ``'state_dict'`` entry.

    Raises:
        FileNotFoundError: If ``path`` is not a file.
        ConversionError: If the file holds no state dict of tensors.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'{setting}: checkpoint file not found: {path!r}')
    try:
        checkpoint = _torch_load(path)
    except Exception as error:
        raise ConversionError(f'{setting}: {path} is not a readable torch checkpoint: '
                              f'{error}') from error
    return _state_dict_of(checkpoint, path, setting)


def _torch_load(path: str):
    # Files in torch's legacy (pre-1.6) format cannot be memory-mapped.
    mmap = zipfile.is_zipfile(path)
    try:
        return torch.load(path, map_location='cpu', mmap=mmap, weights_only=True)
    except pickle.UnpicklingError as error:
        if 'Unsupported global' not in str(error):
            raise
    warnings.warn(f'{path} holds pickled objects besides tensors; unpickling it fully '
                  '(do this only for files from a source you trust).')
    return torch.load(path, map_location='cpu', mmap=mmap, weights_only=False)


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
