"""Training through MMEngine's FlexibleRunner: FSDP (the plugin's ``FSDPStrategy``) and
DeepSpeed (MMEngine's ``DeepSpeedStrategy``, its optimiser registration fixed), and the
checks of a config's ``strategy``."""
from .checks import StrategyConfigError, check_training_strategy
from .deepspeed import register_available_deepspeed_optimizers, use_available_deepspeed_optimizers
from .fsdp import (FrozenModelFSDPStrategy, frozen_model_wrap_policy, parameter_owners,
                   resolve_module_classes, unwrapped_model)

use_available_deepspeed_optimizers()

__all__ = ['FrozenModelFSDPStrategy', 'StrategyConfigError', 'check_training_strategy',
           'frozen_model_wrap_policy', 'parameter_owners',
           'register_available_deepspeed_optimizers', 'resolve_module_classes', 'unwrapped_model',
           'use_available_deepspeed_optimizers']
