"""DeepSpeed through MMEngine 0.10.7's ``DeepSpeedStrategy`` on today's DeepSpeed.

``DeepSpeedStrategy.__init__`` registers DeepSpeed's optimisers, among them the
1-bit ones, which DeepSpeed 0.19 removed: every strategy build failed with
``ModuleNotFoundError: No module named 'deepspeed.runtime.fp16.onebit'``.
:func:`use_available_deepspeed_optimizers` makes it register those that exist.
"""
import importlib
from typing import List

import mmengine._strategy.deepspeed as mmengine_deepspeed
from mmengine.registry import OPTIMIZERS

# MMEngine's list: module -> optimiser classes.
DEEPSPEED_OPTIMIZERS = {
    'deepspeed.ops.adam': ('DeepSpeedCPUAdam', 'FusedAdam'),
    'deepspeed.ops.lamb': ('FusedLamb', ),
    'deepspeed.runtime.fp16.onebit': ('OnebitAdam', 'OnebitLamb', 'ZeroOneAdam'),
}


def register_available_deepspeed_optimizers() -> List[str]:
    """Register into MMEngine's ``OPTIMIZERS`` each of MMEngine's DeepSpeed optimisers
    that the installed DeepSpeed has.

    Returns:
        list[str]: The names registered.
    """
    registered = []
    for module_name, class_names in DEEPSPEED_OPTIMIZERS.items():
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            continue
        for name in class_names:
            optimizer = getattr(module, name, None)
            if optimizer is not None:
                OPTIMIZERS.register_module(module=optimizer, force=True)
                registered.append(name)
    return registered


def use_available_deepspeed_optimizers() -> None:
    """Make ``DeepSpeedStrategy`` register only the optimisers DeepSpeed has."""
    mmengine_deepspeed.register_deepspeed_optimizers = register_available_deepspeed_optimizers
