"""mmpretrain's ``dispatch_model`` (accelerate's ``device_map``) made to work on MiniGPT-4.

accelerate takes the weights of the parts it offloads (``'cpu'`` next to GPUs,
``'disk'``) from ``model.state_dict()``, which for MiniGPT-4 holds the
trainable weights only (checkpoints never carry the frozen LLM): the frozen
parts would have no weights to offload. The plugin's version asks the model
for its full state dict while it dispatches, and is installed in mmpretrain's
place, so ``get_model(..., device_map=...)`` and every inferencer use it.
"""
import importlib
from typing import Optional, Union

from mmpretrain.apis import utils as mmpretrain_api_utils

_mmpretrain_dispatch_model = mmpretrain_api_utils.dispatch_model


def dispatch_model(model, device_map: Union[str, dict], max_memory: Optional[dict] = None,
                   **kwargs):
    """mmpretrain's ``dispatch_model`` (same arguments), with MiniGPT-4's frozen weights
    visible to accelerate; other models are handed over unchanged."""
    full_state_dict = getattr(model, 'full_state_dict', None)
    if full_state_dict is None:
        return _mmpretrain_dispatch_model(model, device_map, max_memory=max_memory, **kwargs)
    with full_state_dict():
        return _mmpretrain_dispatch_model(model, device_map, max_memory=max_memory, **kwargs)


# mmpretrain's get_model checks accelerate is installed through this (its @require).
dispatch_model._verify_require = _mmpretrain_dispatch_model._verify_require


def install_dispatch_model() -> None:
    """Make ``mmpretrain.apis.utils.dispatch_model`` (which ``get_model`` and the
    inferencers import when called) this function."""
    importlib.import_module('mmpretrain.apis.utils').dispatch_model = dispatch_model
