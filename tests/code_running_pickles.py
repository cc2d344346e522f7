"""Checkpoint files whose unpickling would run code: each creates a marker file if it does."""
import os
import os.path as osp

import torch


class CreatesMarker:
    """Unpickled by a full unpickler, this calls ``os.makedirs(marker)``."""

    def __init__(self, marker: str):
        self.marker = marker

    def __reduce__(self):
        return os.makedirs, (self.marker, )


def write_code_running_checkpoint(path: str, marker: str, state_dict: dict = None,
                                  legacy_format: bool = False) -> str:
    """A plausible checkpoint (``state_dict`` + ``meta``) whose ``meta`` runs code."""
    checkpoint = dict(state_dict=state_dict or {}, meta=dict(config=CreatesMarker(marker)))
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    torch.save(checkpoint, path, _use_new_zipfile_serialization=not legacy_format)
    return path
