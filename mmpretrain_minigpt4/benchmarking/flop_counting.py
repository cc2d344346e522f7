"""FLOPs of a call, counted by torch's ``FlopCounterMode`` (matmuls and convolutions)."""
from typing import Callable

from torch.utils.flop_counter import FlopCounterMode


def count_flops(fn: Callable[[], object]) -> int:
    """Floating-point operations ``fn()`` runs, backward included when it calls backward."""
    with FlopCounterMode(display=False) as counter:
        fn()
    return counter.get_total_flops()
