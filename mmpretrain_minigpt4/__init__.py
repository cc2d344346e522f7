"""MiniGPT-4 for mmpretrain / MMEngine.

Importing this package makes mmpretrain 1.2 work on today's stack (see
:mod:`mmpretrain_minigpt4.compat`), imports ``mmpretrain.models`` so that its
registry is complete, then registers this plugin's modules into mmpretrain's
registries; its ``MiniGPT4`` replaces mmpretrain's class of the same name.
MMEngine then reads local checkpoints with torch's safe unpickler and the
allow-list of :mod:`mmpretrain_minigpt4.safe_checkpoint_loading`.
Configs anywhere can inherit the plugin's with
``_base_ = ['mmpretrain_minigpt4::minigpt4/<config>.py']``.
"""
from .compat import apply_compat_fixes
from .package_files import register_config_scope
from .safe_checkpoint_loading import use_safe_checkpoint_loading

apply_compat_fixes()
use_safe_checkpoint_loading()
register_config_scope()

# mmpretrain registers its own MiniGPT4 when ``mmpretrain.models`` is imported
# (lazily, on a registry's first use). Import it first so ours, registered
# with force=True below, is the one that stays, whatever the import order.
import mmpretrain.models  # noqa: E402,F401

from . import datasets, engine, evaluation, grounding, models, visualization  # noqa: E402,F401
from . import apis  # noqa: E402,F401  (registers the model names in mmpretrain's ModelHub)

__version__ = '0.1.0'
