"""Measuring MiniGPT-4 against mmpretrain 1.2's own MiniGPT4, the peer (``tools/benchmark.py``).

``benchmark`` (the measurements and their run), ``workloads`` (the same
operations on ours and on the peer), ``peer`` (building the peer), ``timing``
(interleaved timing, memory, decoding steps), ``flop_counting``,
``device_limits`` (measured matmul rate and bandwidth), ``machine_info`` and
``report`` (table and JSON).
"""
