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

Example::

    python tools/benchmark.py configs/minigpt4/benchmark/minigpt4_small.py
    python tools/benchmark.py configs/minigpt4/benchmark/minigpt4_vicuna-7b.py \
        --device cuda --dtype bfloat16
"""
import argparse
import json
import os
import os.path as osp
import platform
import subprocess
import sys
import time

import mmpretrain_minigpt4  # noqa: F401  (compat fixes, registers our modules first)
import torch
from mmengine.config import Config
from mmpretrain.registry import MODELS
from torch.utils.flop_counter import FlopCounterMode

from mmpretrain_minigpt4.benchmarking.peer import build_peer
from mmpretrain_minigpt4.benchmarking.timing import (decode_tokens_per_s, median, peak_memory_mb,
                                                     record_generation, saved_activations_mb,
                                                     synchronize, time_interleaved)
from mmpretrain_minigpt4.benchmarking.workloads import (VQA_QUESTIONS, OursRunner, PeerRunner,
                                                        random_images, text_of_tokens)
from mmpretrain_minigpt4.models.frozen_feature_cache import FrozenFeatureCache

# The full-size (GPU) workload; a config's ``benchmark`` dict and the
# command-line flags override it.
DEFAULT_SIZES = dict(
    encode_batch=64,
    stage2_batch=12,
    stage2_text_tokens=160,
    stage1_batch=64,
    stage1_text_tokens=30,
    caption_new_tokens=64,
    caption_batch=32,
    vqa_new_tokens=10,
)
PEER_INSTRUCTION_TEMPLATE = '###Ask: {} ###Answer: '
REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('config', help='MiniGPT-4 config (a `model`, optional `benchmark` sizes)')
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
    parser.add_argument('--only', nargs='+', choices=['encode', 'stage2', 'stage1', 'caption',
                                                      'vqa'], help='measurements to run')
    for key, value in DEFAULT_SIZES.items():
        parser.add_argument('--' + key.replace('_', '-'), type=int,
                            help=f'(default {value} or the config\'s `benchmark.{key}`)')
    return parser.parse_args(argv)


def machine_info(device: torch.device) -> dict:
    import mmengine
    import mmpretrain
    import timm
    import transformers
    info = dict(
        platform=platform.platform(), python=platform.python_version(),
        cpu=_cpu_name(), cpu_count=os.cpu_count(), torch_threads=torch.get_num_threads(),
        torch=torch.__version__, transformers=transformers.__version__,
        mmpretrain=mmpretrain.__version__, mmengine=mmengine.__version__,
        timm=timm.__version__, commit=_git_commit())
    if device.type == 'cuda':
        info['gpu'] = torch.cuda.get_device_name(device)
    return info


def _cpu_name() -> str:
    try:
        with open('/proc/cpuinfo', encoding='utf-8') as f:
            for line in f:
                if line.startswith('model name'):
                    return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def _git_commit() -> str:
    try:
        commit = subprocess.run(['git', 'rev-parse', '--short', 'HEAD'], cwd=REPO_ROOT,
                                capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(['git', 'status', '--porcelain', '--untracked-files=no'],
                               cwd=REPO_ROOT, capture_output=True, text=True).stdout.strip()
        return commit + ('+dirty' if dirty else '')
    except (OSError, subprocess.CalledProcessError):
        return 'unknown'


def device_limits(device: torch.device, dtype: torch.dtype) -> dict:
    """Measured matmul FLOP/s and copy bandwidth: the yardsticks for 'fraction of the limit'.

    The best of the repeats: a peak, not a typical rate, so that a loaded
    machine understates the limit less.
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
                # read + write
                copy_gb_per_s=2 * src.numel() / min(times['copy']) / 1e9)


def count_flops(fn) -> int:
    with FlopCounterMode(display=False) as counter:
        fn()
    return counter.get_total_flops()


def build_models(cfg, device: torch.device, dtype: torch.dtype, with_peer: bool):
    """Ours and (optionally) the peer, random weights, built on ``device`` in ``dtype``."""
    model_cfg = cfg.model.to_dict()
    if 'llm' in model_cfg:
        model_cfg['llm']['dtype'] = str(dtype).replace('torch.', '')
    torch.manual_seed(0)
    with torch.device(device):
        ours = MODELS.build(model_cfg).to(dtype).eval()
        peer = None
        if with_peer and ours.neck is not None:
            peer = build_peer(ours, model_cfg, PEER_INSTRUCTION_TEMPLATE)
    return ours, peer


class Benchmark:
    """Runs the measurements on ours (and the peer) and collects the results."""

    def __init__(self, ours: OursRunner, peer, sizes: dict, device, dtype, repeats, warmup,
                 limits: dict, compile_generation: bool):
        self.ours, self.peer = ours, peer
        self.sizes, self.device, self.dtype = sizes, device, dtype
        self.repeats, self.warmup = repeats, warmup
        self.limits = limits
        self.compile_generation = compile_generation
        self.img_size = ours.model.vision_encoder.img_size
        self.results = {}

    def runners(self):
        return [self.ours] + ([self.peer] if self.peer is not None else [])

    def images(self, batch_size: int, seed: int = 0):
        return random_images(batch_size, self.img_size, self.device, self.dtype, seed)

    def time(self, calls: dict) -> dict:
        times = time_interleaved(calls, self.device, self.repeats, self.warmup)
        return {name: median(values) for name, values in times.items()}, times

    def record(self, name: str, unit: str, values: dict, extra: dict = None):
        """Store throughputs (higher is better) and the ours/peer ratio."""
        entry = dict(unit=unit, **values)
        if 'peer' in values and values['peer']:
            for variant in [k for k in values if k.startswith('ours')]:
                entry[f'ratio_{variant}'] = values[variant] / values['peer']
        entry.update(extra or {})
        self.results[name] = entry

    def fraction_of_matmul_peak(self, flops: int, seconds: float) -> float:
        return flops / seconds / 1e12 / self.limits['matmul_tflops']

    # ------------------------------------------------------------------ encode
    def encode(self):
        batch = self.sizes['encode_batch']
        images = self.images(batch)
        medians, _ = self.time({r.name: (lambda r=r: r.encode(images)) for r in self.runners()})
        throughput = {name: batch / t for name, t in medians.items()}
        flops = count_flops(lambda: self.ours.encode(images))
        self.record('encode', 'images/s', throughput, dict(
            batch_size=batch, median_s=medians,
            ours_fraction_of_matmul_peak=self.fraction_of_matmul_peak(flops, medians['ours'])))

    # ------------------------------------------------------------------ training
    def train(self, stage: str):
        batch = self.sizes[f'{stage}_batch']
        text_tokens = self.sizes[f'{stage}_text_tokens']
        images = self.images(batch)
        answer = text_of_tokens(self.ours.model.tokenizer, text_tokens)
        prompt = self.ours.caption_prompt() if stage == 'stage2' else ''
        paths = [f'image_{i}.jpg' for i in range(batch)]
        samples = {r.name: r.training_samples(prompt, [answer] * batch, paths)
                   for r in self.runners()}
        calls = {r.name: (lambda r=r: r.train_step(images, samples[r.name]))
                 for r in self.runners()}
        ours = self.ours
        # One cache for all repeats: only this first call encodes the images.
        cache = FrozenFeatureCache()

        def cached_step():
            with ours.variant(feature_cache=cache):
                ours.train_step(images, samples['ours'])

        def checkpointed_step():
            with ours.variant(llm_gradient_checkpointing=True):
                ours.train_step(images, samples['ours'])

        cached_step()
        calls['ours_cached_features'] = cached_step
        calls['ours_llm_checkpointing'] = checkpointed_step
        medians, _ = self.time(calls)
        throughput = {name: batch / t for name, t in medians.items()}

        memory, saved = {}, {}
        for name, call in calls.items():
            memory[name] = peak_memory_mb(call, self.device)
            saved[name] = saved_activations_mb(call)
        flops = {r.name: count_flops(calls[r.name]) for r in self.runners()}
        with torch.no_grad():
            _, attention_mask, _ = ours.model.build_training_inputs(
                ours.model.extract_image_tokens(images[:1]), samples['ours'][:1])
        self.record(f'{stage}_train', 'samples/s', throughput, dict(
            batch_size=batch, sequence_length=int(attention_mask.shape[1]), median_s=medians,
            peak_memory_mb=memory, saved_activations_mb=saved, tflops_per_step=(
                {name: f / 1e12 for name, f in flops.items()}),
            ours_fraction_of_matmul_peak=self.fraction_of_matmul_peak(flops['ours'],
                                                                      medians['ours'])))

    # ------------------------------------------------------------------ captioning
    def caption(self):
        new_tokens = self.sizes['caption_new_tokens']
        batch = self.sizes['caption_batch']
        prompt = self.ours.caption_prompt()
        one, many = self.images(1), self.images(batch, seed=1)
        runners = {r.name: r for r in self.runners()}
        if self.compile_generation:
            runners['ours_compiled'] = CompiledOurs(self.ours)
        calls = {}
        for name, runner in runners.items():
            calls[f'{name}/first_token'] = lambda r=runner: r.caption(one, prompt, 1)
            calls[f'{name}/batch_1'] = lambda r=runner: r.caption(one, prompt, new_tokens)
            calls[f'{name}/batched'] = lambda r=runner: r.caption(many, prompt, new_tokens)
        with record_generation(self.ours.llm) as generations:
            _, times = self.time(calls)
        # Calls ran in `calls` order, reversed every other repeat (warm-up first).
        order = list(calls) * self.warmup + [
            name for repeat in range(self.repeats)
            for name in (list(calls) if repeat % 2 == 0 else list(calls)[::-1])]
        steps = {name: [] for name in calls}
        for name, generation in zip(order, generations):
            steps[name].append(generation)
        ttft, decode, batched = {}, {}, {}
        for name in runners:
            ttft[name] = median(times[f'{name}/first_token'])
            # The warm-up call is not counted.
            decode[name] = median(
                [decode_tokens_per_s(g) for g in steps[f'{name}/batch_1'][self.warmup:]])
            batched[name] = batch / median(times[f'{name}/batched'])
        counts = {name: len(steps[name][-1].times) for name in calls}
        llm_bytes = sum(p.numel() * p.element_size() for p in self.ours.llm.parameters())
        floor_tokens_per_s = self.limits['copy_gb_per_s'] * 1e9 / llm_bytes
        self.record('caption_first_token', 'captions/s (1 / time to first token)',
                    {k: 1 / v for k, v in ttft.items()}, dict(time_to_first_token_s=ttft))
        self.record('caption_decode_batch_1', 'tokens/s', decode, dict(
            new_tokens={k: counts[f'{k}/batch_1'] for k in runners},
            bandwidth_floor_tokens_per_s=floor_tokens_per_s,
            ours_fraction_of_limit=decode['ours'] / floor_tokens_per_s))
        self.record('caption_batched', 'images/s', batched, dict(
            batch_size=batch, new_tokens={k: counts[f'{k}/batched'] for k in runners}))

    # ------------------------------------------------------------------ VQA
    def vqa(self):
        """8 questions on 8 images, and on 2 images (test sets ask several per image)."""
        self._vqa('vqa', distinct_images=len(VQA_QUESTIONS))
        self._vqa('vqa_4_questions_per_image', distinct_images=2)

    def _vqa(self, name: str, distinct_images: int):
        new_tokens = self.sizes['vqa_new_tokens']
        questions = list(VQA_QUESTIONS)
        images = self.images(distinct_images, seed=2)
        images = images[torch.arange(len(questions), device=images.device) % distinct_images]
        ours = self.ours
        one_by_one = ours.vqa(images, questions, new_tokens, batch_size=1)
        batched = ours.vqa(images, questions, new_tokens, batch_size=len(questions))
        calls = {'ours': lambda: ours.vqa(images, questions, new_tokens, len(questions))}
        prompts = [ours.model.prediction_prompt(s) for s in _question_samples(questions)]
        extra = dict(questions=len(questions), images=distinct_images, new_tokens=new_tokens,
                     prompt_tokens=[sum(map(len, ours.model.prompt_token_ids(p))) for p in prompts],
                     ours_batched_equals_one_by_one=batched == one_by_one,
                     ours_batch_size=len(questions), peer_batch_size=1)
        if self.peer is not None:
            calls['peer'] = lambda: self.peer.vqa(images, prompts, new_tokens)
        medians, _ = self.time(calls)
        self.record(name, 'questions/s', {k: len(questions) / t for k, t in medians.items()},
                    extra)


def _question_samples(questions):
    from mmpretrain.structures import DataSample
    return [DataSample(question=q) for q in questions]


class CompiledOurs:
    """Ours captioning with ``compile_generation`` switched on."""

    def __init__(self, ours: OursRunner):
        self.ours = ours

    def caption(self, images, prompt, new_tokens):
        model = self.ours.model
        model.compile_generation = True
        try:
            return self.ours.caption(images, prompt, new_tokens)
        finally:
            model.compile_generation = False


def format_table(results: dict) -> str:
    """A Markdown table: measurement, unit, ours (and variants), peer, ratio."""
    lines = ['| measurement | unit | variant | ours | peer | ours / peer |',
             '|---|---|---|---|---|---|']
    for name, entry in results.items():
        peer = entry.get('peer')
        for variant in [k for k in entry if k == 'ours' or (
                k.startswith('ours_') and isinstance(entry[k], float) and
                not k.startswith('ours_fraction'))]:
            ratio = entry.get(f'ratio_{variant}')
            lines.append('| {} | {} | {} | {:.3g} | {} | {} |'.format(
                name, entry['unit'], variant, entry[variant],
                f'{peer:.3g}' if peer else '-', f'{ratio:.2f}x' if ratio else '-'))
    return '\n'.join(lines)


def main(argv=None) -> dict:
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    dtype = getattr(torch, args.dtype or ('bfloat16' if device.type == 'cuda' else 'float32'))
    cfg = Config.fromfile(args.config)
    sizes = dict(DEFAULT_SIZES, **cfg.get('benchmark', {}))
    sizes.update({k: getattr(args, k) for k in DEFAULT_SIZES if getattr(args, k) is not None})

    start = time.perf_counter()
    ours_model, peer_model = build_models(cfg, device, dtype, with_peer=not args.no_peer)
    build_s = time.perf_counter() - start
    limits = device_limits(device, dtype)
    bench = Benchmark(OursRunner(ours_model), PeerRunner(peer_model) if peer_model else None,
                      sizes, device, dtype, args.repeats, args.warmup, limits, args.compile)
    measurements = args.only or ['encode', 'stage2', 'stage1', 'caption', 'vqa']
    for name in measurements:
        started = time.perf_counter()
        if name in ('stage2', 'stage1'):
            bench.train(name)
        else:
            getattr(bench, name)()
        synchronize(device)
        print(f'[benchmark] {name} measured in {time.perf_counter() - started:.0f} s',
              file=sys.stderr, flush=True)

    report = dict(
        config=osp.relpath(osp.abspath(args.config), REPO_ROOT), device=str(device),
        dtype=str(dtype).replace('torch.', ''), repeats=args.repeats, warmup=args.warmup,
        sizes=sizes, peer='mmpretrain.models.multimodal.minigpt4.minigpt4.MiniGPT4'
        if peer_model is not None else None, machine=machine_info(device), limits=limits,
        build_s=build_s, total_s=time.perf_counter() - start, results=bench.results)
    out = args.out or osp.join('work_dirs', 'benchmark',
                               osp.splitext(osp.basename(args.config))[0] + '.json')
    os.makedirs(osp.dirname(osp.abspath(out)), exist_ok=True)
    with open(out, 'w', encoding='utf-8') as f:
        json.dump(report, f, indent=2)
    print(format_table(bench.results))
    print(f'\n{report["dtype"]} on {device} ({report["machine"]["cpu"]}, '
          f'{report["machine"]["torch_threads"]} threads); total {report["total_s"]:.0f} s; '
          f'JSON: {out}')
    return report


if __name__ == '__main__':
    sys.exit(main() and 0)
