"""Evaluate a MiniGPT-4 config on its test set: ``python tools/test.py CONFIG [CHECKPOINT]``.

mmpretrain's ``tools/test.py`` with the plugin imported first, an optional
checkpoint (the LLM comes from its own directory; a random tiny model needs
none), predictions dumped as JSON/pickle/YAML by ``--out``, images drawn with
their caption or question and answer by ``--show-dir``, ``--quantization 8bit|4bit``
(``--low-resource``: 8 bits) for the LLM through bitsandbytes, and a table of the
metrics at the end. See docs/evaluation.md.
"""
import argparse
import os
import os.path as osp
from typing import Dict, List, Optional

import mmpretrain_minigpt4  # noqa: F401  (compat fixes and registration before mmengine builds)
import mmengine
import torch
from mmengine.config import Config, ConfigDict, DictAction
from mmengine.registry import RUNNERS
from mmengine.runner import Runner

from mmpretrain_minigpt4.engine import use_cpu_distributed
from mmpretrain_minigpt4.models.language_models.quantization import (
    add_quantization_arguments, low_memory_overrides, quantization_of)

NO_CHECKPOINT = 'none'


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Test (and evaluate) a MiniGPT-4 model')
    parser.add_argument('config', help='test config file path')
    parser.add_argument(
        'checkpoint', nargs='?', default=NO_CHECKPOINT,
        help="converted MiniGPT-4 checkpoint (docs/converting_weights.md); omit or 'none' to "
        'test the weights the config builds')
    parser.add_argument('--work-dir', help='directory for logs and the metrics file')
    parser.add_argument(
        '--out', help='file (.json, .pkl or .yaml) to write the predictions (or metrics) to')
    parser.add_argument(
        '--out-item', choices=['metrics', 'pred'],
        help="what --out holds: 'pred' (default), the predictions, or 'metrics'")
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override config settings, key=value pairs (e.g. test_dataloader.batch_size=1)')
    parser.add_argument('--amp', action='store_true', help='test with automatic mixed precision')
    parser.add_argument(
        '--show-dir', help='directory to write each image with its caption or question/answer')
    parser.add_argument('--show', action='store_true', help='display those images in a window')
    parser.add_argument('--interval', type=int, default=1, help='draw every N-th sample')
    parser.add_argument('--wait-time', type=float, default=2, help='seconds each window shows')
    parser.add_argument('--no-pin-memory', action='store_true', help='disable pin_memory')
    parser.add_argument(
        '--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'], default='none',
        help='job launcher')
    add_quantization_arguments(parser)
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args(argv)
    if args.out is None and args.out_item is not None:
        parser.error('--out-item needs --out.')
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def merge_args(cfg: Config, args: argparse.Namespace) -> Config:
    """Apply the command line to the config (same precedence as mmpretrain's tool)."""
    cfg.launcher = args.launcher
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(args.config))[0])

    if args.checkpoint.lower() != NO_CHECKPOINT:
        if not osp.isfile(args.checkpoint):
            raise FileNotFoundError(f'Checkpoint not found: {args.checkpoint!r} (second argument '
                                    "of tools/test.py; pass 'none' to test without one).")
        cfg.load_from = args.checkpoint
    if args.amp:
        cfg.test_cfg.fp16 = True
    quantization = quantization_of(args)
    if quantization is not None:
        cfg.merge_from_dict(dict(model=low_memory_overrides(quantization)))

    if args.show or args.show_dir is not None:
        if 'visualization' not in cfg.default_hooks:
            raise KeyError('--show/--show-dir need `default_hooks.visualization` in the config, '
                           "e.g. dict(type='PredictionVisualizationHook').")
        cfg.default_hooks.visualization.update(
            enable=True, show=args.show, wait_time=args.wait_time, out_dir=args.show_dir,
            interval=args.interval)

    # mmengine's default pseudo_collate would hand the model a list of images.
    dataloader = ConfigDict(pin_memory=not args.no_pin_memory,
                            collate_fn=dict(type='default_collate'))
    dataloader.update(cfg.test_dataloader)
    cfg.test_dataloader = dataloader
    if args.no_pin_memory:
        cfg.test_dataloader.pin_memory = False

    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    return cfg


def format_metrics_table(metrics: Dict[str, float]) -> str:
    """Metrics as a two-column text table, in the evaluator's order."""
    rows = [(name, f'{value:.4f}' if isinstance(value, float) else str(value))
            for name, value in metrics.items()]
    name_width = max([len('metric')] + [len(name) for name, _ in rows])
    value_width = max([len('value')] + [len(value) for _, value in rows])
    rule = f'+-{"-" * name_width}-+-{"-" * value_width}-+'
    lines = [rule, f'| {"metric".ljust(name_width)} | {"value".rjust(value_width)} |', rule]
    lines += [f'| {name.ljust(name_width)} | {value.rjust(value_width)} |' for name, value in rows]
    lines.append(rule)
    return '\n'.join(lines)


def main(argv: Optional[List[str]] = None) -> Dict[str, float]:
    args = parse_args(argv)
    cfg = merge_args(Config.fromfile(args.config), args)
    if args.launcher == 'pytorch' and not torch.cuda.is_available():
        use_cpu_distributed(cfg)
    runner = Runner.from_cfg(cfg) if 'runner_type' not in cfg else RUNNERS.build(cfg)

    if args.out and args.out_item in ('pred', None):
        runner.test_evaluator.metrics.append(
            mmpretrain_minigpt4.evaluation.DumpPredictions(out_file_path=args.out))
    metrics = runner.test()
    if args.out and args.out_item == 'metrics':
        mmengine.dump(metrics, args.out)
    if runner.rank == 0:
        print(format_metrics_table(metrics), flush=True)
    return metrics


if __name__ == '__main__':
    main()
