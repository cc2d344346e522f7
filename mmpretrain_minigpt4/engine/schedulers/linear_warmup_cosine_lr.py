"""The official ``linear_warmup_cosine_lr`` schedule (LAVIS / MiniGPT-4), stepped every iteration."""
import math

from mmengine.optim.scheduler.lr_scheduler import LRSchedulerMixin
from mmengine.optim.scheduler.param_scheduler import INF, _ParamScheduler
from mmpretrain.registry import PARAM_SCHEDULERS


def linear_warmup_cosine_lr(step: int, base_lr: float, warmup_iters: int,
                            warmup_start_lr: float, eta_min: float, total_iters: int) -> float:
    """Learning rate of iteration ``step`` (0-based).

    Linear from ``warmup_start_lr`` towards ``base_lr`` for the first
    ``warmup_iters`` iterations; then a cosine from ``base_lr`` to ``eta_min``
    over ALL ``total_iters`` iterations counted from step 0, so it does not
    restart after the warm-up: at ``step == warmup_iters`` the rate is already
    ``eta_min + (base_lr - eta_min) * (1 + cos(pi * warmup_iters / total_iters)) / 2``.
    """
    if step < warmup_iters:
        return min(base_lr, warmup_start_lr + (base_lr - warmup_start_lr) * step / warmup_iters)
    return eta_min + (base_lr - eta_min) * 0.5 * (1 + math.cos(math.pi * step / total_iters))


@PARAM_SCHEDULERS.register_module()
class LinearWarmupCosineLR(LRSchedulerMixin, _ParamScheduler):
    """:func:`linear_warmup_cosine_lr` as an MMEngine parameter scheduler.

    MMEngine's ``LinearLR`` + ``CosineAnnealingLR`` restart the cosine where
    the warm-up ends; the official schedule does not, hence this scheduler.
    The official code applies the warm-up with the step inside the epoch; its
    configs warm up within the first epoch, where that equals the global step.

    The peak rate is the optimizer's ``lr`` (per parameter group).

    Args:
        optimizer (Optimizer | OptimWrapper): Wrapped optimizer.
        warmup_iters (int): Warm-up iterations (official ``warmup_steps``).
        warmup_start_lr (float): First warm-up rate (official ``warmup_lr``).
        eta_min (float): Final rate (official ``min_lr``).
        begin (int): First iteration of the schedule. Defaults to 0.
        end (int): Iteration after the last one; ``end - begin`` is the cosine
            length (official ``max_epoch * iters_per_epoch``). Kept apart from
            the loop's ``max_iters``, so a shortened run follows the same curve.
        last_step (int): Defaults to -1.
        by_epoch (bool): Must stay False: the rate changes every iteration.
        verbose (bool): Log every change. Defaults to False.
    """

    def __init__(self, optimizer, warmup_iters: int, warmup_start_lr: float, eta_min: float,
                 begin: int = 0, end: int = INF, last_step: int = -1, by_epoch: bool = False,
                 verbose: bool = False):
        if by_epoch:
            raise ValueError('LinearWarmupCosineLR is per iteration: set by_epoch=False.')
        if end == INF:
            raise ValueError('LinearWarmupCosineLR needs `end`, the total number of iterations.')
        if not 0 <= warmup_iters < end - begin:
            raise ValueError(f'warmup_iters={warmup_iters} must lie in [0, end - begin).')
        self.warmup_iters = warmup_iters
        self.warmup_start_lr = warmup_start_lr
        self.eta_min = eta_min
        super().__init__(optimizer, begin=begin, end=end, last_step=last_step,
                         by_epoch=by_epoch, verbose=verbose)

    def _get_value(self) -> list:
        return [
            linear_warmup_cosine_lr(self.last_step, base_lr, self.warmup_iters,
                                    self.warmup_start_lr, self.eta_min, self.end - self.begin)
            for base_lr in self.base_values
        ]
