from .linear_warmup_cosine_lr import LinearWarmupCosineLR, linear_warmup_cosine_lr

__all__ = ['LinearWarmupCosineLR', 'linear_warmup_cosine_lr']
