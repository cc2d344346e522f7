"""Measuring MiniGPT-4: workloads, timing, and mmpretrain 1.2's own MiniGPT4 as the peer (tools/benchmark.py)."""
