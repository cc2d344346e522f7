"""Hateful Memes accuracy of yes/no answers, as MiniGPT-v2's evaluation reads them."""
from typing import Dict, List, Optional

from mmengine.evaluator import BaseMetric
from mmpretrain.registry import METRICS

ANSWER_LABELS = {'yes': 1, 'no': 0}


def yes_no_label(answer: str) -> Optional[int]:
    """'Yes' -> 1, ' no' -> 0 (case and surrounding space ignored, as officially);
    anything else ('Yes.', 'hateful') -> None."""
    return ANSWER_LABELS.get(answer.strip().lower())


@METRICS.register_module()
class HatefulMemesAccuracy(BaseMetric):
    """Share of memes whose answer says the label (x 100): 'yes' for hateful (1),
    'no' for not (0).

    Any other answer is wrong. The official ``eval_vqa.py`` prints such answers
    as "non-matching answer" and then compares the text with the label, which
    is never equal; their share is reported here as ``non_matching``.

    Args:
        collect_device (str): 'cpu' or 'gpu'. Defaults to 'cpu'.
        prefix (str, optional): Metric name prefix. Defaults to 'HatefulMemes'.
    """
    default_prefix = 'HatefulMemes'

    def process(self, data_batch, data_samples) -> None:
        for sample in data_samples:
            if 'gt_label' not in sample:
                raise KeyError('HatefulMemesAccuracy needs `gt_label` (0 or 1): the test '
                               'split has no labels.')
            self.results.append(dict(pred=yes_no_label(sample['pred_answer']),
                                     label=int(sample['gt_label'])))

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        correct = sum(r['pred'] == r['label'] for r in results)
        non_matching = sum(r['pred'] is None for r in results)
        return {'acc': correct / len(results) * 100,
                'non_matching': non_matching / len(results) * 100}
