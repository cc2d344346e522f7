"""Caption the photos of a cc_sbu_align-style set with a trained checkpoint and compare
each greedy caption with its training caption: the "overfit a tiny set" check.

    python tools/compare_training_captions.py work_dirs/demo/iter_300.pth
    python tools/compare_training_captions.py CKPT --model minigpt-4_vicuna-7b_caption \
        --data-root data/my_pairs

A model that reproduces the caption of every photo, with different captions for
different photos, has its images, prompts, training targets and generation wired
together. Exit status 0 then, else 1.
"""
import argparse
import os.path as osp
import sys
from typing import List, NamedTuple, Optional, Sequence

import mmpretrain_minigpt4  # noqa: F401  (before mmpretrain: compat fixes, model names)
from mmpretrain_minigpt4.apis import MiniGPT4CaptionInferencer
from mmpretrain_minigpt4.datasets import CCSBUAlignDataset

MINI_DATA = 'tests/data/minigpt4_mini/cc_sbu_align'


class CaptionPair(NamedTuple):
    image: str
    generated: str
    training: str

    @property
    def same(self) -> bool:
        return self.generated == self.training


def training_pairs(data_root: str) -> List[tuple]:
    """``(image path, training caption)`` of every entry of ``{data_root}/filter_cap.json``."""
    dataset = CCSBUAlignDataset(data_root=data_root)
    infos = [dataset.get_data_info(index) for index in range(len(dataset))]
    return [(info['img_path'], info['gt_caption']) for info in infos]


def compare_captions(checkpoint: str, model: str = 'minigpt-4_tiny_caption',
                     data_root: str = MINI_DATA, batch_size: int = 8,
                     device: Optional[str] = None) -> List[CaptionPair]:
    """Greedy captions of the set's photos beside their training captions.

    ``max_new_tokens`` is the longest training caption's token count (its end
    symbol included), so that every caption can be reproduced whole.
    """
    pairs = training_pairs(data_root)
    inferencer = MiniGPT4CaptionInferencer(model, pretrained=checkpoint, device=device)
    network = inferencer.model
    longest = max(len(network.tokenizer.encode(caption + network.template.end_sym))
                  for _, caption in pairs)
    network.generation_cfg = dict(network.generation_cfg, max_new_tokens=longest,
                                  num_beams=1, do_sample=False)
    images = [image for image, _ in pairs]
    results = inferencer(images, batch_size=batch_size)
    return [CaptionPair(image, result['pred_caption'], caption)
            for (image, caption), result in zip(pairs, results)]


def report(pairs: Sequence[CaptionPair]) -> str:
    """Per photo, the generated caption beside the training caption; then the verdict."""
    lines = []
    for pair in pairs:
        lines.append(f"[{'same' if pair.same else 'DIFFERENT'}] {osp.basename(pair.image)}")
        lines.append(f'    generated: {pair.generated}')
        if not pair.same:
            lines.append(f'    training:  {pair.training}')
    matched = sum(pair.same for pair in pairs)
    distinct = len({pair.generated for pair in pairs})
    lines.append(f'{matched} of {len(pairs)} photos give their own training caption; '
                 f'{distinct} different captions for {len(pairs)} photos.')
    return '\n'.join(lines)


def learned(pairs: Sequence[CaptionPair]) -> bool:
    """Every photo gives its training caption, and different photos differ."""
    return all(pair.same for pair in pairs) and len({p.generated for p in pairs}) == len(
        {p.training for p in pairs})


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('checkpoint', help='trained checkpoint (e.g. work_dirs/.../iter_300.pth)')
    parser.add_argument('--model', default='minigpt-4_tiny_caption',
                        help='caption model name or config the checkpoint belongs to')
    parser.add_argument('--data-root', default=MINI_DATA,
                        help='folder with filter_cap.json and image/ (default: the mini set)')
    parser.add_argument('--batch-size', type=int, default=8)
    parser.add_argument('--device', help='e.g. cuda:0 (default: CPU)')
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(argv)
    pairs = compare_captions(args.checkpoint, args.model, args.data_root, args.batch_size,
                             args.device)
    print(report(pairs))
    return 0 if learned(pairs) else 1


if __name__ == '__main__':
    sys.exit(main())
