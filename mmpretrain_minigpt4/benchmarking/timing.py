"""Timing and memory measurement: warm-up, device synchronisation, interleaved repeats."""
import contextlib
import statistics
import time
from typing import Callable, ContextManager, Dict, List, Optional

import torch


def synchronize(device: torch.device) -> None:
    """Wait for queued device work (timings must include it)."""
    if device.type == 'cuda':
        torch.cuda.synchronize(device)


def time_interleaved(calls: Dict[str, Callable[[], object]], device: torch.device,
                     repeats: int = 5, warmup: int = 1,
                     settings: Optional[Dict[str, Callable[[], ContextManager]]] = None
                     ) -> Dict[str, List[float]]:
    """Seconds per call of each callable, run in turn within every repeat.

    Interleaving puts ours and the peer under the same machine load (other
    processes, thermal state) in every repeat, so their ratio is fair even when
    absolute timings drift. The order alternates between repeats.

    Args:
        calls (dict[str, callable]): Name -> zero-argument callable.
        device (torch.device): Synchronised around every call.
        repeats (int): Timed calls per callable. Defaults to 5.
        warmup (int): Untimed calls per callable first. Defaults to 1.
        settings (dict[str, callable], optional): Name -> a context manager
            factory entered around every call of that name, untimed: the
            switches of a model variant.

    Returns:
        dict[str, list[float]]: Name -> the ``repeats`` durations in seconds.
    """
    def timed(name: str) -> float:
        with in_setting(settings, name):
            synchronize(device)
            start = time.perf_counter()
            calls[name]()
            synchronize(device)
            return time.perf_counter() - start

    for _ in range(warmup):
        for name in calls:
            timed(name)
    times = {name: [] for name in calls}
    names = list(calls)
    for repeat in range(repeats):
        for name in (names if repeat % 2 == 0 else names[::-1]):
            times[name].append(timed(name))
    return times


def in_setting(settings: Optional[Dict[str, Callable[[], ContextManager]]],
               name: str) -> ContextManager:
    """The context of ``name``'s variant in ``settings``, else a no-op one."""
    return (settings or {}).get(name, contextlib.nullcontext)()


def median(values: List[float]) -> float:
    return statistics.median(values)


def peak_memory_mb(fn: Callable[[], object], device: torch.device) -> Optional[float]:
    """Peak device memory allocated while ``fn`` runs, in MiB (CUDA only, else None)."""
    if device.type != 'cuda':
        return None
    synchronize(device)
    torch.cuda.reset_peak_memory_stats(device)
    fn()
    synchronize(device)
    return torch.cuda.max_memory_allocated(device) / 2**20


def saved_activations_mb(fn: Callable[[], object]) -> float:
    """MiB of tensors autograd saves for the backward pass while ``fn`` runs.

    Measurable on every device (CPU has no allocator statistics) and exactly
    what gradient checkpointing or frozen-part ``no_grad`` reduce. Tensors
    sharing storage are counted once.
    """
    storages = {}

    def pack(tensor):
        storage = tensor.untyped_storage()
        storages[storage.data_ptr()] = storage.nbytes()
        return tensor

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor):
        fn()
    return sum(storages.values()) / 2**20


class TokenTimes:
    """A ``generate`` streamer that timestamps every decoding step.

    transformers hands each step's new tokens to the streamer on the host, so
    a timestamp there follows that step's device work.
    """

    def __init__(self):
        self.times: List[float] = []

    def put(self, tokens: torch.Tensor) -> None:
        if tokens.numel():  # the (empty) prompt of an inputs_embeds call carries no step
            self.times.append(time.perf_counter())

    def end(self) -> None:
        pass


@contextlib.contextmanager
def record_generation(llm):
    """Per ``llm.generate`` call: new tokens and step timestamps (a list of ``TokenTimes``).

    Decoding speed comes from one call's own timestamps, so it excludes the
    prefill without subtracting two separately timed (noisy) calls.
    """
    calls = []
    generate = llm.generate

    def recording_generate(*args, **kwargs):
        calls.append(TokenTimes())
        kwargs['streamer'] = calls[-1]  # MiniGPT4.generate passes streamer=None
        return generate(*args, **kwargs)

    llm.generate = recording_generate
    try:
        yield calls
    finally:
        del llm.generate


def decode_tokens_per_s(token_times: TokenTimes) -> float:
    """Steps per second after the first token of one generate call."""
    times = token_times.times
    return (len(times) - 1) / (times[-1] - times[0])
