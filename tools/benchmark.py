"""Benchmark a MiniGPT-4 config against mmpretrain 1.2's own MiniGPT4 (the peer).

Both models are built from CONFIG with random weights (same ViT, Q-Former and
projection weights; one shared LLM), directly on the device and in the
benchmark dtype, nothing written to disk. Every measurement times ours and the
peer in turn within each repeat (median of ``--repeats``), after warm-up, with
device synchronisation, and prints ours/peer throughput ratios.

Measurements: image encoding (ViT + Q-Former); stage-2 and stage-1 training
steps (loss, backward, AdamW step) with ours also timed with cached frozen
features and with LLM gradient checkpointing; captioning (time to first token,
batch-1 decode tokens/s, batched images/s); VQA on questions of different
lengths (ours batched, checked equal to one-by-one; the peer one by one).
The measuring is ``mmpretrain_minigpt4.benchmarking``; this is its command line.

``--memory`` (no CONFIG) reports memory instead: the exact weight bytes per part of
Vicuna-7B, Vicuna-13B, Llama-2 (MiniGPT-4 v1) and MiniGPT-v2 in bf16, 8 and 4 bits
(meta builds: any machine, no files), and with ``--device cuda`` the peak memory of
the issue's target workloads on random full-size models (8 / 4-bit ones save a random
LLM to ``--memory-tmpdir`` first: 26 GB free for 13B).

``--serving`` measures the OpenAI-compatible server (``tools/serve.py``) instead:
requests/s and p50/p95 latency at ``--serving-clients`` concurrent clients, for
each ``--serving-batch-sizes`` (dynamic batching, and batch size 1).

Example::

    python tools/benchmark.py configs/minigpt4/speed/minigpt4_small.py
    python tools/benchmark.py configs/minigpt4/speed/minigpt4_vicuna-7b.py \
        --device cuda --dtype bfloat16
    python tools/benchmark.py configs/minigpt4/speed/minigpt4_small.py --serving
    python tools/benchmark.py --memory --device cuda
"""
import argparse
import os.path as osp
import sys

import mmpretrain_minigpt4  # noqa: F401  (compat fixes, registers our modules first)
import torch
from mmengine.config import Config

from mmpretrain_minigpt4.benchmarking.benchmark import (DEFAULT_SIZES, MEASUREMENTS,
                                                        run_benchmark, workload_sizes)
from mmpretrain_minigpt4.benchmarking.memory import (format_targets_table,
                                                     format_weights_table, run_memory_benchmark)
from mmpretrain_minigpt4.benchmarking.memory_variants import MODES, VARIANTS
from mmpretrain_minigpt4.benchmarking.peak_memory import PEAK_WORKLOADS
from mmpretrain_minigpt4.benchmarking.report import format_summary, format_table, write_report
from mmpretrain_minigpt4.benchmarking.serving import (SERVING_SIZES, format_serving_table,
                                                      run_serving_benchmark)

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('config', nargs='?',
                        help='MiniGPT-4 config (a `model`, optional `benchmark` sizes); '
                        'not with --memory')
    parser.add_argument('--out', help='JSON output (default: work_dirs/benchmark/<config>.json)')
    parser.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    parser.add_argument('--dtype', help='float32 / bfloat16 / float16 (default: bfloat16 on '
                        'CUDA, float32 on CPU)')
    parser.add_argument('--threads', type=int, help='torch CPU threads')
    parser.add_argument('--repeats', type=int, default=5, help='timed repeats (median)')
    parser.add_argument('--warmup', type=int, default=1, help='untimed calls first')
    parser.add_argument('--no-peer', action='store_true', help='time ours only')
    parser.add_argument('--compile', action='store_true',
                        help='also time ours captioning with compile_generation (static KV '
                        'cache + torch.compile; slow to compile on CPU)')
    parser.add_argument('--only', nargs='+', choices=MEASUREMENTS, help='measurements to run')
    for key, value in DEFAULT_SIZES.items():
        parser.add_argument('--' + key.replace('_', '-'), type=int,
                            help=f'(default {value} or the config\'s `benchmark.{key}`)')
    serving = parser.add_argument_group('serving (--serving)')
    serving.add_argument('--serving', action='store_true',
                         help='measure tools/serve.py on CONFIG instead (random weights, '
                         'greedy): requests/s and p50/p95 latency')
    serving.add_argument('--serving-clients', type=int, nargs='+',
                         default=list(SERVING_SIZES['clients']), help='concurrent clients')
    serving.add_argument('--serving-batch-sizes', type=int, nargs='+',
                         default=list(SERVING_SIZES['batch_sizes']),
                         help="servers' --max-batch-size (1: no batching)")
    for key in ('requests', 'new_tokens', 'images'):
        serving.add_argument(f'--serving-{key.replace("_", "-")}', type=int,
                             default=SERVING_SIZES[key],
                             help=f'(default {SERVING_SIZES[key]})')
    serving.add_argument('--serving-batch-wait-ms', type=float,
                         default=SERVING_SIZES['batch_wait_ms'],
                         help=f'(default {SERVING_SIZES["batch_wait_ms"]:g})')
    memory = parser.add_argument_group('memory (--memory)')
    memory.add_argument('--memory', action='store_true',
                        help='weight bytes per part of every variant and mode; on CUDA also '
                        'the peak memory of the target workloads')
    memory.add_argument('--memory-variants', nargs='+', choices=list(VARIANTS),
                        default=list(VARIANTS))
    memory.add_argument('--memory-modes', nargs='+', choices=list(MODES), default=list(MODES))
    memory.add_argument('--memory-workloads', nargs='+',
                        choices=[w.name for w in PEAK_WORKLOADS],
                        default=[w.name for w in PEAK_WORKLOADS],
                        help='peak workloads (CUDA)')
    memory.add_argument('--memory-tmpdir',
                        help='where 8 / 4-bit workloads save their random LLM, one at a time '
                        '(default: the system temporary directory)')
    args = parser.parse_args(argv)
    if (args.config is None) != args.memory:
        parser.error('give a CONFIG, or --memory (which takes none)')
    return args


def memory_main(args) -> dict:
    """``--memory``: weights per part, and peaks on CUDA (``benchmarking.memory``)."""
    report = run_memory_benchmark(
        torch.device(args.device), variants=args.memory_variants, modes=args.memory_modes,
        workloads=[w for w in PEAK_WORKLOADS if w.name in args.memory_workloads],
        tmpdir=args.memory_tmpdir)
    out = args.out or osp.join('work_dirs', 'benchmark', 'memory.json')
    write_report(report, out)
    print('Weights (exact bytes):\n\n' + format_weights_table(report['weights']))
    print('\nTargets (GB = 10^9 bytes; weights are a lower bound of the peak):\n\n' +
          format_targets_table(report['targets'], report['peaks_skipped']))
    if report['peaks_skipped']:
        print('\n' + report['peaks_skipped'])
    print(f'\ntotal {report["total_s"]:.0f} s; JSON: {out}')
    return report


def serving_main(args) -> dict:
    """``--serving``: the server's requests/s and latency (``benchmarking.serving``)."""
    report = run_serving_benchmark(
        args.config, args.device, clients=args.serving_clients,
        batch_sizes=args.serving_batch_sizes, requests=args.serving_requests,
        new_tokens=args.serving_new_tokens, images=args.serving_images,
        batch_wait_ms=args.serving_batch_wait_ms)
    out = args.out or osp.join('work_dirs', 'benchmark',
                               osp.splitext(osp.basename(args.config))[0] + '_serving.json')
    write_report(report, out)
    print(format_serving_table(report))
    print(f'\ntotal {report["total_s"]:.0f} s; JSON: {out}')
    return report


def main(argv=None) -> dict:
    args = parse_args(argv)
    if args.memory:
        return memory_main(args)
    if args.serving:
        return serving_main(args)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    dtype = getattr(torch, args.dtype or ('bfloat16' if device.type == 'cuda' else 'float32'))
    cfg = Config.fromfile(args.config)
    sizes = workload_sizes(cfg.get('benchmark'), {k: getattr(args, k) for k in DEFAULT_SIZES})
    report = dict(
        config=osp.relpath(osp.abspath(args.config), REPO_ROOT),
        **run_benchmark(cfg.model.to_dict(), sizes, device, dtype, repeats=args.repeats,
                        warmup=args.warmup, with_peer=not args.no_peer,
                        compile_generation=args.compile,
                        measurements=args.only or MEASUREMENTS))
    out = args.out or osp.join('work_dirs', 'benchmark',
                               osp.splitext(osp.basename(args.config))[0] + '.json')
    write_report(report, out)
    print(format_table(report['results']))
    print('\n' + format_summary(report, out))
    return report


if __name__ == '__main__':
    sys.exit(main() and 0)
