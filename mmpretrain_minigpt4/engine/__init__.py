"""Runtime parts MMEngine lacks: the official learning-rate schedule, torchrun on CPU,
a progress bar for evaluation, an optimiser constructor that does not warn per frozen tensor,
FSDP / DeepSpeed through MMEngine's FlexibleRunner (``strategies``)."""
from .cpu_distributed import use_cpu_distributed
from .hooks import ProgressBarHook
from .optimizers import TrainableParametersOptimWrapperConstructor, trainable_summary
from .schedulers import LinearWarmupCosineLR
from .strategies import (FrozenModelFSDPStrategy, StrategyConfigError, check_training_strategy,
                         frozen_model_wrap_policy)

__all__ = ['FrozenModelFSDPStrategy', 'LinearWarmupCosineLR', 'ProgressBarHook',
           'StrategyConfigError', 'TrainableParametersOptimWrapperConstructor',
           'check_training_strategy', 'frozen_model_wrap_policy', 'trainable_summary',
           'use_cpu_distributed']
