"""Merge a MiniGPT-v2 checkpoint's LoRA into a copy of its Hugging Face LLM directory.

Example::

    python tools/model_converters/merge_minigptv2_lora.py \\
        --llm checkpoints/Llama-2-7b-chat-hf \\
        --minigptv2 checkpoints/official/minigptv2_checkpoint.pth \\
        --out checkpoints/Llama-2-7b-chat-minigptv2

Then convert the rest of the checkpoint with ``convert_minigpt4_weights.py
--lora-merged`` and point the model's ``llm.name_or_path`` at ``--out``
(see docs/converting_weights.md). The merged directory is written next to
``--out`` and renamed to it when complete; an existing ``--out`` is replaced
only with ``--force``, and never when it is or lies inside ``--llm``.
"""
import argparse
import sys

import mmpretrain_minigpt4  # noqa: F401  (compat fixes first)

from mmpretrain_minigpt4.converters import ConversionError, load_source_state_dict
from mmpretrain_minigpt4.converters.minigptv2_lora import (OFFICIAL_LORA_ALPHA, lora_updates,
                                                           merge_lora_into_llm)
from mmpretrain_minigpt4.converters.output_files import check_output_path
from mmpretrain_minigpt4.safe_checkpoint_loading import CheckpointError


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description="Merge MiniGPT-v2's LoRA (q_proj / v_proj) into a copy of its LLM directory.")
    parser.add_argument('--llm', required=True, help='the base LLM directory (Llama-2-7b-chat-hf)')
    parser.add_argument('--minigptv2', required=True,
                        help='the MiniGPT-v2 checkpoint (e.g. minigptv2_checkpoint.pth)')
    parser.add_argument('--out', required=True, help='directory of the merged LLM')
    parser.add_argument('--force', action='store_true', help='replace an existing --out')
    parser.add_argument('--lora-alpha', type=float, default=OFFICIAL_LORA_ALPHA,
                        help=f'LoRA alpha (default: {OFFICIAL_LORA_ALPHA}, as MiniGPT-v2); '
                        'the rank is read from the tensors')
    return parser.parse_args(argv)


def main(argv=None) -> None:
    args = parse_args(argv)
    try:
        check_output_path(args.out, {'--llm': args.llm, '--minigptv2': args.minigptv2},
                          args.force, directory=True)
        updates = lora_updates(load_source_state_dict(args.minigptv2, '--minigptv2'),
                               args.minigptv2, args.lora_alpha)
        if not updates:
            raise ConversionError(f'{args.minigptv2} holds no LoRA weights: nothing to merge.')
        merged = merge_lora_into_llm(args.llm, updates, args.out, args.force)
    except (ConversionError, CheckpointError, FileNotFoundError, ValueError) as error:
        sys.exit(f'error: {error}')
    ranks = sorted({update.down.shape[0] for update in updates.values()})
    print(f'merged LoRA (rank {", ".join(map(str, ranks))}, alpha {args.lora_alpha:g}) into '
          f'{len(merged)} weights, e.g. {merged[0]}')
    print(f'saved the merged LLM to {args.out}')


if __name__ == '__main__':
    main()
