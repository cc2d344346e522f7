"""Write every prediction with its identifiers to a JSON / pickle / YAML file."""
from typing import Dict, List, Optional, Sequence

import mmengine
from mmengine.evaluator import BaseMetric
from mmengine.logging import MMLogger
from mmpretrain.registry import METRICS

PREDICTION_FIELDS = ('image_id', 'question_id', 'img_path', 'question', 'pred_caption',
                     'pred_answer', 'gt_answer')


@METRICS.register_module()
class DumpPredictions(BaseMetric):
    """Save predictions (``tools/test.py --out``) instead of scoring them.

    Each record holds those of ``fields`` that the sample has, e.g.
    ``{"question_id": 1, "question": "...", "pred_answer": "cat", ...}``;
    tensors are not saved (unlike mmengine's ``DumpResults``, this works for
    ``.json`` too, the format of caption / VQA submission files).

    Args:
        out_file_path (str): ``.json``, ``.pkl``/``.pickle`` or ``.yaml`` file.
        fields (Sequence[str]): Data-sample fields to save. Defaults to ids,
            image path, question, predictions and ground truth.
        collect_device (str): 'cpu' or 'gpu'. Defaults to 'cpu'.
        prefix (str, optional): Metric name prefix (unused: nothing is scored).
    """

    def __init__(self, out_file_path: str, fields: Sequence[str] = PREDICTION_FIELDS,
                 collect_device: str = 'cpu', prefix: Optional[str] = None):
        super().__init__(collect_device=collect_device, prefix=prefix)
        if not out_file_path.endswith(('.json', '.pkl', '.pickle', '.yaml', '.yml')):
            raise ValueError(f'--out / out_file_path must end with .json, .pkl or .yaml, got '
                             f'{out_file_path!r}.')
        self.out_file_path = out_file_path
        self.fields = tuple(fields)

    def process(self, data_batch, data_samples) -> None:
        for sample in data_samples:
            self.results.append({key: _plain(sample.get(key)) for key in self.fields
                                 if key in sample})

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        mmengine.dump(results, self.out_file_path)
        MMLogger.get_current_instance().info(
            f'{len(results)} predictions written to {self.out_file_path}.')
        return {}


def _plain(value):
    """numpy / torch scalars -> Python numbers so that JSON can hold them."""
    return value.item() if hasattr(value, 'item') and getattr(value, 'ndim', 1) == 0 else value
