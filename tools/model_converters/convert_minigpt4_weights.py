"""Convert the official MiniGPT-4 weight files into one checkpoint of this plugin.

Example (MiniGPT-4 with Vicuna-7B)::

    python tools/model_converters/convert_minigpt4_weights.py \\
        --config configs/minigpt4/_base_/models/minigpt4_vicuna-7b.py \\
        --eva-vit eva_vit_g.pth \\
        --blip2 blip2_pretrained_flant5xxl.pth \\
        --minigpt4 prerained_minigpt4_7b.pth \\
        --out checkpoints/minigpt4_vicuna-7b.pth

mmpretrain's converted files (``minigpt-4_eva-g-p14_*.pth``,
``minigpt-4_qformer_*.pth``, ``minigpt-4_linear_vicuna7b_*.pth``) are accepted
by the same options. The LLM stays a Hugging Face directory. The result is
verified against the non-LLM part of the model built from ``--config`` (no
missing, unexpected or mis-shaped key); every dropped key is reported.

A MiniGPT-v2 checkpoint's LoRA is kept as LoRA with ``--keep-lora`` (config
``configs/minigpt4/_base_/models/minigptv2_llama2-chat-7b.py``, ``--img-size``
not needed: it is 448 there), or dropped with ``--lora-merged`` after
``merge_minigptv2_lora.py``.

The checkpoint is written next to ``--out`` and renamed to it when complete;
an existing ``--out`` is replaced only with ``--force``, and never when it is
one of the inputs.
"""
import argparse
import sys

import mmpretrain_minigpt4  # noqa: F401  (compat fixes and registries first)
import torch
from mmengine.config import Config

from mmpretrain_minigpt4.converters import ConversionError, convert_minigpt4_checkpoint
from mmpretrain_minigpt4.converters.minigpt4_checkpoint import DTYPES
from mmpretrain_minigpt4.converters.output_files import (UnsafeOutputError, atomic_output,
                                                         check_output_path)
from mmpretrain_minigpt4.safe_checkpoint_loading import CheckpointError


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Convert official MiniGPT-4 weights into one mmpretrain-minigpt4 checkpoint.')
    parser.add_argument('--config', required=True,
                        help='MiniGPT-4 config whose model the checkpoint is for')
    parser.add_argument('--eva-vit', required=True,
                        help="eva_vit_g.pth (or mmpretrain's minigpt-4_eva-g-p14_*.pth)")
    parser.add_argument('--blip2',
                        help="blip2_pretrained_flant5xxl.pth (or mmpretrain's "
                        'minigpt-4_qformer_*.pth); only for configs with a Q-Former')
    parser.add_argument('--minigpt4',
                        help="pretrained_minigpt4*.pth (or mmpretrain's minigpt-4_linear_*.pth); "
                        'without it the projection is left out (to train it from scratch)')
    parser.add_argument('--out', required=True, help='output checkpoint (.pth)')
    parser.add_argument('--force', action='store_true', help='replace an existing --out')
    parser.add_argument('--img-size', type=int,
                        help="image size, overriding the config's model.vision_encoder.img_size "
                        '(pos_embed is interpolated); use a config with the same size')
    parser.add_argument('--dtype', choices=DTYPES, default='keep',
                        help='dtype of floating-point tensors in the output (default: keep)')
    lora = parser.add_mutually_exclusive_group()
    lora.add_argument('--keep-lora', action='store_const', const='keep', dest='lora',
                      help='--minigpt4 is a MiniGPT-v2 checkpoint: keep its LLM LoRA as the LoRA '
                      "of the config's model.llm.lora (every factor checked against it)")
    lora.add_argument('--lora-merged', action='store_const', const='merged', dest='lora',
                      help='--minigpt4 is a MiniGPT-v2 checkpoint whose LLM LoRA has been merged '
                      'into the LLM directory with merge_minigptv2_lora.py: drop it here')
    return parser.parse_args(argv)


def main(argv=None) -> None:
    args = parse_args(argv)
    inputs = {'--config': args.config, '--eva-vit': args.eva_vit, '--blip2': args.blip2,
              '--minigpt4': args.minigpt4}
    try:
        check_output_path(args.out, inputs, args.force)
        cfg = Config.fromfile(args.config)
        checkpoint, report = convert_minigpt4_checkpoint(
            cfg.model, eva_vit=args.eva_vit, blip2=args.blip2, minigpt4=args.minigpt4,
            img_size=args.img_size, dtype=args.dtype, lora=args.lora)
    except (UnsafeOutputError, ConversionError, CheckpointError, FileNotFoundError) as error:
        sys.exit(f'error: {error}')
    checkpoint['meta']['config'] = args.config
    with atomic_output(args.out, force=args.force) as partial:
        torch.save(checkpoint, partial)
    print(report.format())
    print(f'saved {len(checkpoint["state_dict"])} tensors to {args.out}')


if __name__ == '__main__':
    main()
