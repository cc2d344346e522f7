"""Top-1 accuracy of candidates ranked by the model (IconQA, MiniGPT-v2's ``multi_select``)."""
from typing import Dict, List

from mmengine.evaluator import BaseMetric
from mmpretrain.registry import METRICS


@METRICS.register_module()
class IconQAAccuracy(BaseMetric):
    """Share of questions whose best-ranked candidate is the right one (x 100).

    Each data sample has ``pred_candidate_index`` (set by ``MiniGPT4.predict``
    for a sample with ``candidates``) and ``gt_answer_index``; the indices are
    compared, so two candidates with the same text cannot be confused.

    Args:
        collect_device (str): 'cpu' or 'gpu'. Defaults to 'cpu'.
        prefix (str, optional): Metric name prefix. Defaults to 'IconQA'.
    """
    default_prefix = 'IconQA'

    def process(self, data_batch, data_samples) -> None:
        for sample in data_samples:
            if 'pred_candidate_index' not in sample:
                raise KeyError('IconQAAccuracy needs `pred_candidate_index`: give each sample '
                               "its `candidates` (PackInputs algorithm_keys) so that the model "
                               'ranks them.')
            self.results.append(dict(pred=int(sample['pred_candidate_index']),
                                     gt=int(sample['gt_answer_index'])))

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        return {'acc': sum(r['pred'] == r['gt'] for r in results) / len(results) * 100}
