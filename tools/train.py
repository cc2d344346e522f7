"""Train MiniGPT-4 with MMEngine's Runner: ``python tools/train.py CONFIG [options]``.

The options are mmpretrain's ``tools/train.py``'s; the differences are fixes for
this stack: the plugin is imported before anything else, ``persistent_workers``
is only set where ``num_workers > 0``, ``--amp`` is bf16 autocast and on a
machine without a GPU it stops with a message instead of MMEngine's assertion,
and a CPU-only ``--launcher pytorch`` run (torchrun) uses gloo.

A config with a ``strategy`` (FSDP, DeepSpeed: ``configs/minigpt4/*_fsdp.py``,
``*_deepspeed-zero2.py``, ...) trains with MMEngine's ``FlexibleRunner``; the
strategy is checked before anything is built.
"""
import argparse
import os
import os.path as osp
import sys

import mmpretrain_minigpt4  # noqa: F401,I001  (compat fixes + registries before mmengine use)
import torch
from mmengine.config import Config, DictAction
from mmengine.runner import FlexibleRunner, Runner

from mmpretrain_minigpt4.engine import (StrategyConfigError, check_training_strategy,
                                        use_cpu_distributed)

DATALOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Train a MiniGPT-4 model')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='the dir to save logs and checkpoints')
    parser.add_argument(
        '--resume', nargs='?', type=str, const='auto',
        help='resume from this checkpoint; without a path, from the latest '
        'checkpoint in the work dir')
    parser.add_argument(
        '--amp', action='store_true',
        help='bf16 automatic mixed precision (needs a GPU)')
    parser.add_argument(
        '--no-validate', action='store_true',
        help='do not evaluate checkpoints during training')
    parser.add_argument(
        '--auto-scale-lr', action='store_true',
        help='scale the lr by the actual / the config\'s base batch size')
    parser.add_argument('--no-pin-memory', action='store_true',
                        help='do not pin memory in the dataloaders')
    parser.add_argument('--no-persistent-workers', action='store_true',
                        help='do not keep dataloader workers between epochs')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override config settings, key=value pairs, e.g. '
        'train_dataloader.batch_size=4 "model.llm.name_or_path=/models/vicuna-7b"')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
                        default='none', help='job launcher')
    # torch.distributed.launch passes --local-rank; torchrun sets LOCAL_RANK.
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args(argv)
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    if args.amp and not torch.cuda.is_available():
        parser.error('--amp (bf16 mixed precision) needs a CUDA GPU and none is available; '
                     'on CPU, train in fp32: drop --amp.')
    return args


def set_dataloader_defaults(cfg: Config, pin_memory: bool, persistent_workers: bool) -> None:
    """Defaults every dataloader needs; the config's own values win.

    ``default_collate`` stacks images to (B, 3, H, W) (MMEngine's
    ``pseudo_collate`` would hand the preprocessor a list).
    """
    for name in DATALOADERS:
        loader = cfg.get(name)
        if loader is None:
            continue
        loader.setdefault('collate_fn', dict(type='default_collate'))
        loader.setdefault('pin_memory', pin_memory)
        loader.setdefault('persistent_workers', persistent_workers)


def drop_persistent_workers_without_workers(cfg: Config) -> None:
    """``persistent_workers`` off where ``num_workers`` is 0: torch rejects the pair."""
    for name in DATALOADERS:
        loader = cfg.get(name)
        if loader is not None and loader.get('num_workers', 0) == 0:
            loader['persistent_workers'] = False


def merge_args(cfg: Config, args: argparse.Namespace) -> Config:
    """Apply the command line to the config: the flags, then ``--cfg-options``.

    As in mmpretrain's ``tools/train.py``, ``--cfg-options`` come last and win
    over what a flag set (``work_dir=...`` over ``--work-dir``). Only the
    ``persistent_workers`` fix-up follows them, as it depends on their
    ``num_workers``.
    """
    if args.no_validate:
        cfg.val_cfg = None
        cfg.val_dataloader = None
        cfg.val_evaluator = None
    cfg.launcher = args.launcher

    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(args.config))[0])

    if args.amp:
        optim_wrapper = cfg.optim_wrapper
        if optim_wrapper.get('type', 'OptimWrapper') != 'AmpOptimWrapper':
            optim_wrapper.type = 'AmpOptimWrapper'
            optim_wrapper.setdefault('dtype', 'bfloat16')
            optim_wrapper.setdefault('loss_scale', 'dynamic')

    if args.resume == 'auto':
        cfg.resume = True
        cfg.load_from = None
    elif args.resume is not None:
        cfg.resume = True
        cfg.load_from = args.resume

    if args.auto_scale_lr:
        cfg.auto_scale_lr.enable = True

    set_dataloader_defaults(
        cfg,
        pin_memory=torch.cuda.is_available() and not args.no_pin_memory,
        persistent_workers=not args.no_persistent_workers)
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    drop_persistent_workers_without_workers(cfg)
    return cfg


def build_runner(cfg: Config):
    """``FlexibleRunner`` for a config with a ``strategy``, else the config's
    ``runner_type`` or MMEngine's ``Runner``."""
    if cfg.get('strategy') is not None:
        return FlexibleRunner.from_cfg(cfg)
    if 'runner_type' in cfg:
        from mmpretrain.registry import RUNNERS
        return RUNNERS.build(cfg)
    return Runner.from_cfg(cfg)


def main(argv=None) -> None:
    args = parse_args(argv)
    cfg = merge_args(Config.fromfile(args.config), args)
    try:
        check_training_strategy(cfg)
    except StrategyConfigError as error:
        raise SystemExit(f'{args.config}: {error}') from None
    if args.launcher == 'pytorch' and not torch.cuda.is_available():
        use_cpu_distributed(cfg)
    build_runner(cfg).train()


if __name__ == '__main__':
    sys.exit(main())
