"""Training-loop parts MMEngine lacks (the official learning-rate schedule)."""
from .schedulers import LinearWarmupCosineLR

__all__ = ['LinearWarmupCosineLR']
