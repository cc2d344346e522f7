"""VSR accuracy: is the spatial statement about the image true or false."""
from typing import Dict, List, Optional

from mmengine.evaluator import BaseMetric
from mmpretrain.evaluation.metrics.vqa import _process_punctuation
from mmpretrain.registry import METRICS

# The benchmark prompt asks "true or false?"; mmpretrain's VSR dataset stores 'yes'/'no'.
TRUE_WORDS = ('true', 'yes')
FALSE_WORDS = ('false', 'no')


def normalize_true_false(answer: str) -> Optional[bool]:
    """'True.' / 'yes' -> True, 'false' / 'No' -> False, anything else -> None (counted wrong)."""
    word = _process_punctuation(answer.replace('<unk>', '')).strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    return None


def exact_true_false(answer: str) -> Optional[bool]:
    """MiniGPT-v2's rule: the lower-cased answer is 'true' or 'false', nothing else
    ('True' -> True; 'True.' and 'yes' -> None, counted wrong)."""
    return {'true': True, 'false': False}.get(answer.replace('<unk>', '').strip().lower())


@METRICS.register_module()
class VSRAcc(BaseMetric):
    """Visual Spatial Reasoning accuracy in percent.

    mmpretrain's ``configs/_base_/datasets/vsr.py`` names ``VSRAcc`` but
    mmpretrain never defines it; this is it. A prediction is right when it
    says the same truth value as the label ('true'/'yes' or 'false'/'no',
    case and punctuation ignored); any other answer is wrong. With
    ``exact_match`` only 'true' / 'false' (any case) count, as MiniGPT-v2's
    ``eval_vqa.py`` compares them.

    Args:
        exact_match (bool): Score as MiniGPT-v2 does. Defaults to False.
        collect_device (str): 'cpu' or 'gpu'. Defaults to 'cpu'.
        prefix (str, optional): Metric name prefix. Defaults to 'VSR'.
    """
    default_prefix = 'VSR'

    def __init__(self, exact_match: bool = False, collect_device: str = 'cpu',
                 prefix: Optional[str] = None):
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.read_answer = exact_true_false if exact_match else normalize_true_false

    def process(self, data_batch, data_samples) -> None:
        for sample in data_samples:
            label = normalize_true_false(sample.get('gt_answer'))
            if label is None:
                raise ValueError(f"VSR label must be 'yes'/'no' or 'true'/'false', got "
                                 f"{sample.get('gt_answer')!r}.")
            self.results.append(dict(pred=self.read_answer(sample.get('pred_answer')),
                                     label=label))

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        correct = sum(r['pred'] == r['label'] for r in results)
        return {'acc': correct / len(results) * 100}
