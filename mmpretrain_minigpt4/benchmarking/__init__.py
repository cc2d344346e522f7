"""Measuring MiniGPT-4 against mmpretrain 1.2's own MiniGPT4, the peer (``tools/benchmark.py``).

``benchmark`` (the measurements and their run), ``workloads`` (the same
operations on ours and on the peer), ``peer`` (building the peer), ``timing``
(interleaved timing, memory, decoding steps), ``flop_counting``,
``device_limits`` (measured matmul rate and bandwidth), ``machine_info`` and
``report`` (table and JSON). The memory mode: ``weight_memory`` (exact weight bytes per
part, float or 8 / 4 bits), ``memory_variants`` (the full-size variants and modes),
``peak_memory`` (CUDA peaks of the target workloads) and ``memory`` (its run and tables).
"""
