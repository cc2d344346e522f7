"""Runtime parts MMEngine lacks: the official learning-rate schedule, torchrun on CPU."""
from .cpu_distributed import use_cpu_distributed
from .schedulers import LinearWarmupCosineLR

__all__ = ['LinearWarmupCosineLR', 'use_cpu_distributed']
