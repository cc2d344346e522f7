"""Serving speed: ``tools/serve.py`` under concurrent clients, with dynamic batching and with
batch size 1 (``tools/benchmark.py CONFIG --serving``).

For each ``--max-batch-size`` a server is started on the config (random weights, seed 0,
greedy, so that batched answers can be checked against the others) in a subprocess on loopback. The same requests (VQA questions
of different lengths about a few distinct images, ``new_tokens`` answer tokens) are sent by
1, 4, 16 ... clients, each client sending its share one request after another (closed
loop), non-streamed. Per level: requests/s (requests / wall time), p50 / p95 latency (send
to whole answer), the server's mean batch size. Every request's answer must be the same at
every level and batch size.
"""
import asyncio
import base64
import io
import os.path as osp
import tempfile
import time
from typing import Dict, List, Sequence

import httpx
import numpy as np
import torch
from mmengine.config import Config
from PIL import Image

from .machine_info import machine_info
from .server_process import REPO_ROOT, ServerProcess
from .workloads import VQA_QUESTIONS

# A batch of 16 takes seconds on a CPU: a 100 ms wait lets the clients answered by one
# batch join the next (with 20 ms they came back split in two half batches).
SERVING_SIZES = dict(clients=(1, 4, 16), batch_sizes=(16, 1), requests=48, new_tokens=16,
                     images=4, batch_wait_ms=100.0)
# What a model-only config (configs/minigpt4/speed/) lacks to be served.
INFERENCE_BASES = ('configs/minigpt4/_base_/datasets/image_caption_inference.py',
                   'configs/minigpt4/_base_/default_runtime.py')
# The targets at the most clients: requests/s against batch-1 serving, p95 latency
# against the latency of one client alone.
TARGET_SPEEDUP, TARGET_P95_RATIO = 2.5, 2.0


def servable_config(config: str, directory: str) -> str:
    """``config``, or (a model-only config) a config of the same name in ``directory``
    that adds the inference pipeline and runtime."""
    if Config.fromfile(config).get('test_dataloader') is not None:
        return config
    path = osp.join(directory, osp.basename(config))
    bases = [osp.abspath(config)] + [osp.join(REPO_ROOT, base) for base in INFERENCE_BASES]
    with open(path, 'w', encoding='utf-8') as f:
        f.write(f'_base_ = {bases!r}\n')
    return path


def request_bodies(model: str, count: int, images: int, new_tokens: int) -> List[dict]:
    """``count`` greedy VQA requests: question ``i % 8``, random image ``i % images``."""
    urls = []
    for seed in range(images):
        pixels = np.random.RandomState(seed).randint(0, 256, (224, 224, 3), dtype=np.uint8)
        buffer = io.BytesIO()
        Image.fromarray(pixels).save(buffer, 'JPEG', quality=90)
        urls.append('data:image/jpeg;base64,' + base64.b64encode(buffer.getvalue()).decode())
    return [{'model': model, 'max_tokens': new_tokens, 'temperature': 0, 'messages': [
        {'role': 'user', 'content': [
            {'type': 'image_url', 'image_url': {'url': urls[i % images]}},
            {'type': 'text', 'text': VQA_QUESTIONS[i % len(VQA_QUESTIONS)]}]}]}
        for i in range(count)]


async def _send_all(url: str, bodies: Sequence[dict], clients: int):
    """Client ``k`` sends ``bodies[k::clients]`` one after another; per request: latency,
    answer and completion tokens; and the wall time."""
    latencies, answers, tokens = [0.0] * len(bodies), [''] * len(bodies), [0] * len(bodies)
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(timeout=3600, limits=limits) as client:

        async def run_client(first: int):
            for index in range(first, len(bodies), clients):
                start = time.perf_counter()
                response = await client.post(url + '/chat/completions', json=bodies[index])
                latencies[index] = time.perf_counter() - start
                response.raise_for_status()
                reply = response.json()
                answers[index] = reply['choices'][0]['message']['content']
                tokens[index] = reply['usage']['completion_tokens']

        start = time.perf_counter()
        await asyncio.gather(*(run_client(k) for k in range(clients)))
        wall = time.perf_counter() - start
    return latencies, answers, tokens, wall


def _mean_batch_size(before: Dict[str, int], after: Dict[str, int]) -> float:
    counts = {int(size): after[size] - before.get(size, 0) for size in after}
    batches = sum(counts.values())
    return sum(size * n for size, n in counts.items()) / batches if batches else 0.0


def measure_level(server: ServerProcess, bodies: Sequence[dict], clients: int):
    """One level of concurrency: its entry and the answers."""
    before = server.health()['batch_sizes']
    latencies, answers, tokens, wall = asyncio.run(_send_all(server.base_url, bodies, clients))
    after = server.health()['batch_sizes']
    entry = dict(clients=clients, requests=len(bodies), wall_s=wall,
                 requests_per_s=len(bodies) / wall,
                 p50_s=float(np.percentile(latencies, 50)),
                 p95_s=float(np.percentile(latencies, 95)), mean_s=float(np.mean(latencies)),
                 mean_batch_size=_mean_batch_size(before, after),
                 completion_tokens_mean=float(np.mean(tokens)))
    return entry, answers


def run_serving_benchmark(config: str, device: str = 'cpu',
                          clients: Sequence[int] = SERVING_SIZES['clients'],
                          batch_sizes: Sequence[int] = SERVING_SIZES['batch_sizes'],
                          requests: int = SERVING_SIZES['requests'],
                          new_tokens: int = SERVING_SIZES['new_tokens'],
                          images: int = SERVING_SIZES['images'],
                          batch_wait_ms: float = SERVING_SIZES['batch_wait_ms']) -> dict:
    """Measure every batch size at every client count; return the report (JSON-ready).

    Returns:
        dict: ``config``, ``device``, ``sizes``, ``machine``, ``results``
        (``'batch_<size>'`` -> client count -> entry), ``answers_equal`` and
        ``targets`` (speed-up and p95 ratio at the most clients against the
        issue's targets, when batch size 1 and another were measured).
    """
    start = time.perf_counter()
    sizes = dict(clients=list(clients), batch_sizes=list(batch_sizes), requests=requests,
                 new_tokens=new_tokens, images=images, batch_wait_ms=batch_wait_ms)
    results, all_answers = {}, []
    with tempfile.TemporaryDirectory() as directory:
        served = servable_config(config, directory)
        name = osp.splitext(osp.basename(served))[0]
        bodies = request_bodies(name, requests, images, new_tokens)
        for batch_size in batch_sizes:
            with ServerProcess(served, '--random-weights', '--seed', '0', '--greedy',
                               '--max-new-tokens',
                               str(new_tokens), '--device', device, '--max-batch-size',
                               str(batch_size), '--batch-wait-ms', str(batch_wait_ms),
                               '--max-queue-size', str(max(64, 2 * max(clients)))) as server:
                # Warm-up (untimed): a full batch, then one request alone.
                asyncio.run(_send_all(server.base_url, bodies[:batch_size], batch_size))
                asyncio.run(_send_all(server.base_url, bodies[:1], 1))
                levels = {}
                for count in clients:
                    levels[str(count)], answers = measure_level(server, bodies, count)
                    all_answers.append(answers)
                results[f'batch_{batch_size}'] = levels
    report = dict(config=osp.relpath(osp.abspath(config), REPO_ROOT), device=device, sizes=sizes,
                  machine=machine_info(torch.device(device)), results=results,
                  answers_equal=all(answers == all_answers[0] for answers in all_answers),
                  total_s=time.perf_counter() - start)
    if 1 in batch_sizes and len(batch_sizes) > 1:
        report['targets'] = serving_targets(results, max(batch_sizes), max(clients),
                                            min(clients))
    return report


def serving_targets(results: dict, batch_size: int, most: int, fewest: int) -> dict:
    """Dynamic batching at the most clients against batch-1 serving and against one client."""
    dynamic, single = results[f'batch_{batch_size}'], results['batch_1']
    speedup = dynamic[str(most)]['requests_per_s'] / single[str(most)]['requests_per_s']
    p95_ratio = dynamic[str(most)]['p95_s'] / dynamic[str(fewest)]['p50_s']
    return dict(clients=most, speedup_vs_batch_1=speedup, speedup_target=TARGET_SPEEDUP,
                speedup_met=speedup >= TARGET_SPEEDUP, p95_vs_single_client=p95_ratio,
                p95_target=TARGET_P95_RATIO, p95_met=p95_ratio <= TARGET_P95_RATIO)


def format_serving_table(report: dict) -> str:
    """A Markdown table: server, clients, requests/s, p50, p95, mean batch size; then the
    targets."""
    lines = ['| server | clients | requests/s | p50 latency (s) | p95 latency (s) | mean batch |',
             '|---|---|---|---|---|---|']
    for server, levels in report['results'].items():
        for entry in levels.values():
            lines.append(f'| --max-batch-size {server.split("_")[1]} | {entry["clients"]} | '
                         f'{entry["requests_per_s"]:.2f} | {entry["p50_s"]:.2f} | '
                         f'{entry["p95_s"]:.2f} | {entry["mean_batch_size"]:.1f} |')
    targets = report.get('targets')
    if targets:
        lines.append(
            f'\nAt {targets["clients"]} clients: {targets["speedup_vs_batch_1"]:.2f}x the '
            f'requests/s of batch-1 serving (target >= {targets["speedup_target"]}x), p95 '
            f'{targets["p95_vs_single_client"]:.2f}x the single-client latency (target <= '
            f'{targets["p95_target"]}x). Answers equal everywhere: {report["answers_equal"]}.')
    return '\n'.join(lines)
