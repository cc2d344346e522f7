"""The device's own measured limits: the yardsticks for 'fraction of the limit'."""
import torch

from .timing import time_interleaved


def device_limits(device: torch.device, dtype: torch.dtype) -> dict:
    """Measured matmul FLOP/s and copy bandwidth of ``device``.

    The best of the repeats: a peak, not a typical rate, so that a loaded
    machine understates the limit less.

    Returns:
        dict: ``matmul_tflops`` (n x n matmuls in ``dtype``; n = 4096 on CUDA,
        1024 on CPU) and ``copy_gb_per_s`` (bytes read plus written per second).
    """
    n = 4096 if device.type == 'cuda' else 1024
    a = torch.randn(n, n, device=device, dtype=dtype)
    b = torch.randn(n, n, device=device, dtype=dtype)
    src = torch.empty(2**30 if device.type == 'cuda' else 2**28, dtype=torch.uint8,
                      device=device)
    dst = torch.empty_like(src)
    times = time_interleaved(dict(matmul=lambda: a @ b, copy=lambda: dst.copy_(src)), device,
                             repeats=5, warmup=2)
    return dict(matmul_tflops=2 * n**3 / min(times['matmul']) / 1e12,
                copy_gb_per_s=2 * src.numel() / min(times['copy']) / 1e9)
