"""GQA accuracy in percent."""
from typing import Dict, List

from mmpretrain.evaluation.metrics import GQAAcc
from mmpretrain.registry import METRICS


@METRICS.register_module()
class GQAAccuracy(GQAAcc):
    """mmpretrain's ``GQAAcc`` (exact match after VQA answer normalisation),
    reported in percent like every other accuracy here (``GQAAcc`` gives a
    fraction in [0, 1]).

    Args:
        collect_device (str): 'cpu' or 'gpu'. Defaults to 'cpu'.
        prefix (str, optional): Metric name prefix. Defaults to 'GQA'.
    """

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        return {'acc': super().compute_metrics(results)['acc'] * 100}
