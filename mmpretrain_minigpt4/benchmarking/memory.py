"""The memory benchmark (``tools/benchmark.py --memory``): the weights of every variant
in every mode (meta builds, exact bytes, any machine), the peaks of the target workloads
(CUDA only), the targets beside them, and the report's tables."""
import sys
import tempfile
import time
from typing import Dict, List, Optional, Sequence

import torch

from .machine_info import machine_info
from .memory_variants import MODES, VARIANTS, build_on_meta
from .peak_memory import (PEAK_WORKLOADS, WORKLOAD_SIZES, PeakWorkload, measure_peaks,
                          saved_llm_bytes)
from .weight_memory import PARTS, weight_bytes

GB = 10**9
GIB = 2**30
PART_TITLES = dict(vision_encoder='ViT', ln_vision='ln_vision', neck='Q-Former',
                   head='projection', llm_linears='LLM linears', llm_other='LLM other',
                   lora='LoRA', other='other')
NO_PEAKS_OFF_CUDA = (
    'Peaks not measured: torch.cuda.max_memory_allocated needs a CUDA device (this run: {}). '
    'The weights above are exact on any machine; for the peaks run '
    '`python tools/benchmark.py --memory --device cuda` on a GPU.')


def variant_weights(variants: Sequence[str], modes: Sequence[str]) -> Dict[str, Dict[str, dict]]:
    """Variant -> mode -> :func:`weight_bytes` of its ``meta`` build."""
    return {v: {m: weight_bytes(build_on_meta(VARIANTS[v], MODES[m]), MODES[m].quantization)
                for m in modes} for v in variants}


def target_rows(workloads: Sequence[PeakWorkload], weights: Dict[str, Dict[str, dict]],
                peaks: Optional[Dict[str, dict]] = None) -> List[dict]:
    """Per workload: its target, the weights (a lower bound of the peak), the headroom
    they leave, the measured peak (None if not measured) and whether it met the target."""
    rows = []
    for workload in workloads:
        weights_gb = weights[workload.variant][workload.mode]['total'] / GB
        peak_mb = (peaks or {}).get(workload.name, {}).get('peak_mb')
        peak_gb = peak_mb * 2**20 / GB if peak_mb is not None else None
        rows.append(dict(
            workload=workload.name, kind=workload.kind, variant=workload.variant,
            mode=workload.mode, target_gb=workload.target_gb, weights_gb=weights_gb,
            headroom_gb=workload.target_gb - weights_gb,
            weights_below_target=weights_gb < workload.target_gb, peak_gb=peak_gb,
            met=None if peak_gb is None else peak_gb <= workload.target_gb))
    return rows


def run_memory_benchmark(device: torch.device, variants: Sequence[str] = tuple(VARIANTS),
                         modes: Sequence[str] = tuple(MODES),
                         workloads: Sequence[PeakWorkload] = PEAK_WORKLOADS,
                         tmpdir: Optional[str] = None) -> dict:
    """The weights table, and on CUDA the peaks of ``workloads`` (of ``variants``).

    Returns:
        dict: ``device``, ``machine``, ``variants`` (their LLM architectures),
        ``modes``, ``weights`` (variant -> mode -> part -> bytes), ``workload_sizes``,
        ``disk_bytes_needed`` (the largest random LLM the peaks save), ``peaks``
        (workload -> result; None off CUDA), ``peaks_skipped`` (why, or None),
        ``targets`` (:func:`target_rows`) and ``total_s``.
    """
    start = time.perf_counter()
    workloads = [w for w in workloads if w.variant in variants]
    weights = variant_weights(variants, sorted(set(modes) | {w.mode for w in workloads}))
    disk = max([saved_llm_bytes(VARIANTS[w.variant], MODES[w.mode]) for w in workloads] + [0])
    peaks, skipped = None, None
    if device.type == 'cuda':
        where = tmpdir or tempfile.gettempdir()
        print(f'[memory] measuring {len(workloads)} peaks; 8 / 4-bit workloads save a random '
              f'LLM first: {disk / GB:.1f} GB of free disk needed in {where}', file=sys.stderr,
              flush=True)
        peaks = measure_peaks(workloads, device, tmpdir=tmpdir)
    else:
        skipped = NO_PEAKS_OFF_CUDA.format(device)
    return dict(
        device=str(device), machine=machine_info(device),
        variants={v: VARIANTS[v].llm_config for v in variants},
        modes={m: MODES[m]._asdict() for m in modes},
        weights={v: {m: weights[v][m] for m in modes} for v in variants},
        workload_sizes=WORKLOAD_SIZES, disk_bytes_needed=disk, peaks=peaks,
        peaks_skipped=skipped, targets=target_rows(workloads, weights, peaks),
        total_s=time.perf_counter() - start)


def format_bytes(size: int) -> str:
    """``size`` in GiB, MiB or KiB (whichever is the largest below it), 3 significant digits."""
    for unit, scale in (('GiB', GIB), ('MiB', 2**20), ('KiB', 2**10)):
        if size >= scale:
            return f'{size / scale:.3g} {unit}'
    return f'{size} B'


def format_weights_table(weights: Dict[str, Dict[str, dict]]) -> str:
    """A Markdown table: variant, mode, each part, the total in GiB and GB."""
    parts = [p for p in PARTS if any(w[p] for modes in weights.values() for w in modes.values())]
    lines = ['| variant | mode | ' + ' | '.join(PART_TITLES[p] for p in parts) +
             ' | total GiB | total GB |', '|---|---|' + '---|' * (len(parts) + 2)]
    for variant, modes in weights.items():
        for mode, entry in modes.items():
            cells = [format_bytes(entry[p]) if entry[p] else '-' for p in parts]
            lines.append(f'| {variant} | {mode} | ' + ' | '.join(cells) +
                         f' | {entry["total"] / GIB:.2f} | {entry["total"] / GB:.2f} |')
    return '\n'.join(lines)


def format_targets_table(rows: List[dict], peaks_skipped: Optional[str] = None) -> str:
    """A Markdown table: workload, target, weights, the headroom they leave, the peak."""
    lines = ['| workload | variant | mode | target GB | weights GB | weights alone | '
             'headroom GB | peak GB | target met |', '|---|---|---|---|---|---|---|---|---|']
    for row in rows:
        alone = 'below target' if row['weights_below_target'] else 'above target: missed'
        if row['peak_gb'] is None:
            peak, met = ('not measured yet (no GPU in this run)' if peaks_skipped else
                         'not measured'), '-'
        else:
            peak, met = f'{row["peak_gb"]:.2f}', 'yes' if row['met'] else 'no'
        lines.append(f'| {row["kind"]} | {row["variant"]} | {row["mode"]} | '
                     f'{row["target_gb"]:g} | {row["weights_gb"]:.2f} | {alone} | '
                     f'{row["headroom_gb"]:.2f} | {peak} | {met} |')
    return '\n'.join(lines)
