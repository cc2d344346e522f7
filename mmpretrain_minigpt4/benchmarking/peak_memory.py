"""Peak device memory (``torch.cuda.max_memory_allocated``) of the workloads behind the
memory targets, on full-size models with random weights built on the device.

A 16-bit LLM is built from its architecture on the device. bitsandbytes quantizes while
weights load from a directory, so for 8 / 4 bits a random LLM is saved once (16-bit
safetensors; 13.5 GB for a 7B LLM, 26 GB for 13B) to a temporary directory, loaded
quantized onto the device, and deleted when the last workload of that LLM is done: the
disk holds one LLM at a time.
"""
import gc
import json
import shutil
import sys
import tempfile
from typing import Dict, List, NamedTuple, Optional

import torch
from mmpretrain.registry import MODELS

from .memory_variants import MODES, VARIANTS, MemoryVariant, WeightMode, model_config
from .timing import record_generation, synchronize
from .weight_memory import tensor_bytes
from .workloads import OursRunner, random_images, text_of_tokens


class PeakWorkload(NamedTuple):
    """A workload on a variant in a mode, and its target peak in GB (10^9 bytes)."""
    kind: str
    variant: str
    mode: str
    target_gb: float

    @property
    def name(self) -> str:
        return f'{self.kind}/{self.variant}/{self.mode}'


# caption: one image, the configs' 300 new tokens, greedy, beam 1 (the official demo);
# stage2_step: the official stage-2 batch of 12 with a 160-token answer (max_txt_len);
# stage3_step: MiniGPT-v2's batch of 2 with a 1024-token answer (max_txt_len).
WORKLOAD_SIZES = dict(
    caption=dict(batch=1, new_tokens=300),
    stage2_step=dict(batch=12, text_tokens=160),
    stage3_step=dict(batch=2, text_tokens=1024),
)
# The targets.
PEAK_WORKLOADS = (
    PeakWorkload('caption', 'vicuna-7b', 'bf16', 17),
    PeakWorkload('caption', 'vicuna-7b', '8bit', 10),
    PeakWorkload('caption', 'vicuna-7b', '4bit', 7),
    PeakWorkload('caption', 'vicuna-13b', '8bit', 18),
    PeakWorkload('stage2_step', 'vicuna-7b', '4bit', 12),
    PeakWorkload('stage3_step', 'minigptv2', '4bit', 20),
)


def save_random_llm(variant: MemoryVariant, dtype: str, directory: str,
                    device: torch.device) -> None:
    """A random LLM of ``variant``'s architecture saved to ``directory`` in ``dtype``."""
    torch.manual_seed(0)
    with torch.device(device):
        llm = MODELS.build(dict(type='HFCausalLM', config=variant.llm_config, dtype=dtype))
    llm.save_pretrained(directory)
    del llm
    release_memory(device)


def build_random_model(variant: MemoryVariant, mode: WeightMode, device: torch.device,
                       llm_dir: Optional[str] = None):
    """``variant`` in ``mode`` on ``device``, random weights: a float LLM built there, or
    (``llm_dir``) loaded quantized, which bitsandbytes places on the device itself."""
    cfg = model_config(variant, mode, llm_dir, device if llm_dir else None)
    torch.manual_seed(0)
    if llm_dir is None:
        with torch.device(device):
            return MODELS.build(cfg).eval()
    model = MODELS.build(cfg).eval()
    for name, child in model.named_children():
        if name != 'llm':
            child.to(device)
    return model


def run_workload(model, kind: str, sizes: dict, device: torch.device) -> dict:
    """Run one workload (see :data:`WORKLOAD_SIZES`) and return its peak memory.

    Returns:
        dict: ``peak_mb`` (None off CUDA) and, for captions, ``new_tokens``
        generated, for training steps, ``sequence_length``.
    """
    runner = OursRunner(model)
    images = random_images(sizes['batch'], model.vision_encoder.img_size, device, torch.float32)
    if kind == 'caption':
        prompt = runner.caption_prompt()
        with record_generation(model.llm) as generations:
            peak = run_measuring_peak(
                lambda: runner.caption(images, prompt, sizes['new_tokens']), device)
        return dict(peak_mb=peak, new_tokens=len(generations[-1].times))
    answer = text_of_tokens(model.tokenizer, sizes['text_tokens'])
    samples = runner.training_samples(runner.training_prompt(), [answer] * sizes['batch'],
                                      [f'image_{i}.jpg' for i in range(sizes['batch'])])
    peak = run_measuring_peak(lambda: runner.train_step(images, samples), device)
    with torch.no_grad():
        _, attention_mask, _ = model.build_training_inputs(
            model.extract_image_tokens(images[:1]), samples[:1])
    return dict(peak_mb=peak, sequence_length=int(attention_mask.shape[1]))


def run_measuring_peak(fn, device: torch.device) -> Optional[float]:
    """Run ``fn``; the peak memory allocated meanwhile, in MiB (weights included; None off
    CUDA, where ``fn`` still runs)."""
    if device.type == 'cuda':
        synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
    fn()
    if device.type != 'cuda':
        return None
    synchronize(device)
    return torch.cuda.max_memory_allocated(device) / 2**20


def measure_peaks(workloads: List[PeakWorkload], device: torch.device,
                  sizes: Optional[Dict[str, dict]] = None, tmpdir: Optional[str] = None,
                  variants: Optional[Dict[str, MemoryVariant]] = None) -> Dict[str, dict]:
    """Each workload on a freshly built model (one at a time on the device).

    Args:
        workloads (list[PeakWorkload]): What to measure.
        device (torch.device): CUDA for peaks; elsewhere everything runs and the
            peaks are None.
        sizes (dict, optional): Per kind, as :data:`WORKLOAD_SIZES` (the default).
        tmpdir (str, optional): Where the random LLMs of 8 / 4-bit workloads are
            saved. Defaults to the system's temporary directory.
        variants (dict, optional): Name -> variant. Defaults to :data:`VARIANTS`.

    Returns:
        dict: Workload name -> :func:`run_workload`'s result, with
        ``weights_allocated_mb`` (memory allocated once built: the weights as the
        device holds them; None off CUDA).
    """
    sizes = sizes or WORKLOAD_SIZES
    variants = variants or VARIANTS
    results = {}
    saved_key, llm_dir = None, None
    # Workloads loading the same LLM run one after another: one save each.
    ordered = sorted(workloads, key=lambda w: saved_llm_key(variants[w.variant], MODES[w.mode]))
    try:
        for workload in ordered:
            variant, mode = variants[workload.variant], MODES[workload.mode]
            key = saved_llm_key(variant, mode)
            if key and key != saved_key:
                if llm_dir:
                    shutil.rmtree(llm_dir)
                llm_dir = tempfile.mkdtemp(prefix='minigpt4_random_llm_', dir=tmpdir)
                save_random_llm(variant, mode.llm_dtype, llm_dir, device)
                saved_key = key
            model = build_random_model(variant, mode, device, llm_dir if key else None)
            allocated = (torch.cuda.memory_allocated(device) / 2**20
                         if device.type == 'cuda' else None)
            results[workload.name] = dict(
                run_workload(model, workload.kind, sizes[workload.kind], device),
                weights_allocated_mb=allocated)
            print(f'[memory] {workload.name}: {results[workload.name]}', file=sys.stderr,
                  flush=True)
            del model
            release_memory(device)
    finally:
        if llm_dir:
            shutil.rmtree(llm_dir)
    return {w.name: results[w.name] for w in workloads}


def saved_llm_key(variant: MemoryVariant, mode: WeightMode) -> str:
    """What identifies the saved LLM a workload loads ('' when it builds its own)."""
    if mode.quantization is None:
        return ''
    return json.dumps([variant.llm_config, mode.llm_dtype], sort_keys=True)


def release_memory(device: torch.device) -> None:
    """Free what deleted models held (the next workload's peak must not include it)."""
    gc.collect()
    if device.type == 'cuda':
        torch.cuda.empty_cache()


def saved_llm_bytes(variant: MemoryVariant, mode: WeightMode) -> int:
    """Disk bytes of the random LLM a workload in ``mode`` saves (0 when it saves none):
    its parameters in ``mode.llm_dtype``, from a ``meta`` build."""
    if mode.quantization is None:
        return 0
    with torch.device('meta'):
        llm = MODELS.build(dict(type='HFCausalLM', config=variant.llm_config,
                                dtype=mode.llm_dtype))
    return tensor_bytes(llm.parameters())
