"""Our ``MiniGPT4`` against mmpretrain 1.2's own (the peer): the measurements and their run.

Both models are built from one ``model`` config with random weights (same ViT,
Q-Former and projection weights; one shared LLM), directly on the device and in
the benchmark dtype. Every measurement times ours, the peer and our variants in
turn within each repeat (median of ``repeats``), after warm-up, with device
synchronisation, and records throughputs and ours/peer ratios.
"""
import sys
import time
from typing import Dict, Optional, Sequence

import torch
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample

from .device_limits import device_limits
from .flop_counting import count_flops
from .machine_info import machine_info
from .peer import PEER_TYPE, build_peer
from .timing import (decode_tokens_per_s, in_setting, median, peak_memory_mb, record_generation,
                     saved_activations_mb, synchronize, time_interleaved)
from .workloads import (VQA_QUESTIONS, OursRunner, PeerRunner, random_images, switched_on,
                        text_of_tokens)

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
MEASUREMENTS = ('encode', 'stage2', 'stage1', 'caption', 'vqa')
PEER_INSTRUCTION_TEMPLATE = '###Ask: {} ###Answer: '


def workload_sizes(config_sizes: Optional[dict] = None,
                   overrides: Optional[Dict[str, Optional[int]]] = None) -> dict:
    """:data:`DEFAULT_SIZES`, updated by a config's ``benchmark`` dict, then by the
    ``overrides`` that are set (not None)."""
    sizes = dict(DEFAULT_SIZES, **(config_sizes or {}))
    sizes.update({k: v for k, v in (overrides or {}).items() if v is not None})
    return sizes


def build_models(model_cfg: dict, device: torch.device, dtype: torch.dtype, with_peer: bool):
    """Ours and (optionally, with a Q-Former) the peer, random weights, built on ``device`` in
    ``dtype``."""
    model_cfg = dict(model_cfg)
    if 'llm' in model_cfg:
        model_cfg['llm'] = dict(model_cfg['llm'], dtype=str(dtype).replace('torch.', ''))
    torch.manual_seed(0)
    with torch.device(device):
        ours = MODELS.build(model_cfg).to(dtype).eval()
        peer = None
        if with_peer and ours.neck is not None:
            peer = build_peer(ours, model_cfg, PEER_INSTRUCTION_TEMPLATE)
    return ours, peer


class Benchmark:
    """Runs the measurements on ours (and the peer) and collects the results.

    Args:
        ours (OursRunner): Our model's workloads.
        peer (PeerRunner, optional): The peer's, or None to time ours only.
        sizes (dict): Workload sizes (:data:`DEFAULT_SIZES` keys).
        device (torch.device): Where the models are.
        dtype (torch.dtype): The models' dtype (of the random images too).
        repeats (int): Timed calls per measurement (median).
        warmup (int): Untimed calls first.
        limits (dict): From :func:`device_limits`.
        compile_generation (bool): Also time our captioning with
            ``compile_generation``.
    """

    def __init__(self, ours: OursRunner, peer: Optional[PeerRunner], sizes: dict,
                 device: torch.device, dtype: torch.dtype, repeats: int, warmup: int,
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

    def time(self, calls: dict, settings: Optional[dict] = None):
        """Medians and all timings of ``calls`` (see :func:`time_interleaved`)."""
        times = time_interleaved(calls, self.device, self.repeats, self.warmup, settings)
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

    def measure(self, name: str) -> None:
        """One of :data:`MEASUREMENTS`."""
        if name in ('stage2', 'stage1'):
            self.train(name)
        else:
            getattr(self, name)()

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
        prompt = self.ours.training_prompt() if stage == 'stage2' else ''
        paths = [f'image_{i}.jpg' for i in range(batch)]
        samples = {r.name: r.training_samples(prompt, [answer] * batch, paths)
                   for r in self.runners()}
        calls = {r.name: (lambda r=r: r.train_step(images, samples[r.name]))
                 for r in self.runners()}
        ours = self.ours
        # Our variants time the same step with a switch on; the cache is filled
        # (untimed) before every call, so each timed step skips the frozen encoder.
        settings = dict(
            ours_cached_features=lambda: ours.cached_features_of(images, samples['ours']),
            ours_llm_checkpointing=lambda: switched_on(ours.model.set_llm_gradient_checkpointing))
        calls.update({variant: calls['ours'] for variant in settings})
        medians, _ = self.time(calls, settings)
        throughput = {name: batch / t for name, t in medians.items()}

        memory, saved = {}, {}
        for name, call in calls.items():
            with in_setting(settings, name):
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
        variants = {}
        if self.compile_generation:
            runners['ours_compiled'] = self.ours
            variants['ours_compiled'] = lambda: switched_on(self.ours.model.set_compile_generation)
        calls, settings = {}, {}
        for name, runner in runners.items():
            calls[f'{name}/first_token'] = lambda r=runner: r.caption(one, prompt, 1)
            calls[f'{name}/batch_1'] = lambda r=runner: r.caption(one, prompt, new_tokens)
            calls[f'{name}/batched'] = lambda r=runner: r.caption(many, prompt, new_tokens)
            if name in variants:
                settings.update({f'{name}/{part}': variants[name]
                                 for part in ('first_token', 'batch_1', 'batched')})
        with record_generation(self.ours.llm) as generations:
            _, times = self.time(calls, settings)
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
        prompts = [ours.model.prediction_prompt(DataSample(question=q)) for q in questions]
        extra = dict(questions=len(questions), images=distinct_images, new_tokens=new_tokens,
                     prompt_tokens=[sum(map(len, ours.model.prompt_token_ids(p))) for p in prompts],
                     ours_batched_equals_one_by_one=batched == one_by_one,
                     ours_batch_size=len(questions), peer_batch_size=1)
        if self.peer is not None:
            calls['peer'] = lambda: self.peer.vqa(images, prompts, new_tokens)
        medians, _ = self.time(calls)
        self.record(name, 'questions/s', {k: len(questions) / t for k, t in medians.items()},
                    extra)


def run_benchmark(model_cfg: dict, sizes: dict, device: torch.device, dtype: torch.dtype,
                  repeats: int = 5, warmup: int = 1, with_peer: bool = True,
                  compile_generation: bool = False,
                  measurements: Sequence[str] = MEASUREMENTS) -> dict:
    """Build ours and the peer, measure, and return the report (JSON-ready).

    Args:
        model_cfg (dict): The ``model`` config.
        sizes (dict): From :func:`workload_sizes`.
        device, dtype: Where and in what the models are built.
        repeats, warmup, compile_generation: As :class:`Benchmark`.
        with_peer (bool): Also build and time the peer. Defaults to True.
        measurements (Sequence[str]): Some of :data:`MEASUREMENTS`, in order.
            Defaults to all.

    Returns:
        dict: ``device``, ``dtype``, ``repeats``, ``warmup``, ``sizes``,
        ``peer`` (its class or None), ``machine``, ``limits``, ``build_s``,
        ``total_s`` and ``results`` (measurement name -> entry).
    """
    start = time.perf_counter()
    ours_model, peer_model = build_models(model_cfg, device, dtype, with_peer)
    build_s = time.perf_counter() - start
    limits = device_limits(device, dtype)
    bench = Benchmark(OursRunner(ours_model), PeerRunner(peer_model) if peer_model else None,
                      sizes, device, dtype, repeats, warmup, limits, compile_generation)
    for name in measurements:
        started = time.perf_counter()
        bench.measure(name)
        synchronize(device)
        print(f'[benchmark] {name} measured in {time.perf_counter() - started:.0f} s',
              file=sys.stderr, flush=True)
    return dict(
        device=str(device), dtype=str(dtype).replace('torch.', ''), repeats=repeats,
        warmup=warmup, sizes=sizes, peer=PEER_TYPE if peer_model is not None else None,
        machine=machine_info(device), limits=limits, build_s=build_s,
        total_s=time.perf_counter() - start, results=bench.results)
