"""Referring-expression comprehension accuracy (RefCOCO / RefCOCO+ / RefCOCOg), per expression."""
from typing import List, Sequence

from mmengine.evaluator import BaseMetric
from mmpretrain.registry import METRICS

from ...grounding import parse_grounded_text


def box_iou_plus_one(box1: Sequence[float], box2: Sequence[float]) -> float:
    """IoU of two ``(x1, y1, x2, y2)`` boxes with the official +1-pixel convention
    (a box from x1 to x2 is ``x2 - x1 + 1`` pixels wide), as MiniGPT-v2's
    ``computeIoU``."""
    x1, y1, x2, y2 = box1
    x3, y3, x4, y4 = box2
    inter = max(0, min(x2, x4) - max(x1, x3) + 1) * max(0, min(y2, y4) - max(y1, y3) + 1)
    area1 = (x2 - x1 + 1) * (y2 - y1 + 1)
    area2 = (x4 - x3 + 1) * (y4 - y3 + 1)
    return inter / (area1 + area2 - inter)


@METRICS.register_module()
class RefCOCOAccuracy(BaseMetric):
    """Share of referring expressions whose predicted box has IoU > 0.5 with the
    ground truth (x 100), MiniGPT-v2's REC metric.

    Each data sample is one expression: ``pred_answer`` (the model's text, whose
    first box is the prediction), ``gt_bboxes`` (1, 4) ``x1, y1, x2, y2`` in
    pixels of the original image, and ``ori_shape`` ``(height, width)``.

    Unlike the official ``eval_ref.py``, which keys predictions by image id so
    that the expressions of one image overwrite each other (Vision-CAIR/MiniGPT-4
    #423), every expression is scored against its own box. An answer with no
    readable box is a miss; their share is reported as ``no_box``.

    Args:
        iou_threshold (float): Defaults to 0.5 (official).
        prefix (str, optional): Defaults to 'RefCOCO'.
        collect_device (str): Defaults to 'cpu'.
    """

    default_prefix = 'RefCOCO'

    def __init__(self, iou_threshold: float = 0.5, prefix=None, collect_device: str = 'cpu'):
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.iou_threshold = iou_threshold

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        for sample in data_samples:
            height, width = sample['ori_shape'][:2]
            gt_box = [float(v) for v in list(sample['gt_bboxes'])[0]]
            boxes = parse_grounded_text(sample['pred_answer'], (width, height)).boxes
            iou = box_iou_plus_one(boxes[0], gt_box) if boxes else None
            self.results.append(dict(iou=iou))

    def compute_metrics(self, results: List[dict]) -> dict:
        hits = sum(r['iou'] is not None and r['iou'] > self.iou_threshold for r in results)
        no_box = sum(r['iou'] is None for r in results)
        return dict(accuracy=hits / len(results) * 100, no_box=no_box / len(results) * 100)
