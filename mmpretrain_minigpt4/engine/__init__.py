"""Runtime parts MMEngine lacks: the official learning-rate schedule, torchrun on CPU,
a progress bar for evaluation, an optimiser constructor that does not warn per frozen tensor."""
from .cpu_distributed import use_cpu_distributed
from .hooks import ProgressBarHook
from .optimizers import TrainableParametersOptimWrapperConstructor, trainable_summary
from .schedulers import LinearWarmupCosineLR

__all__ = ['LinearWarmupCosineLR', 'ProgressBarHook', 'TrainableParametersOptimWrapperConstructor',
           'trainable_summary', 'use_cpu_distributed']
