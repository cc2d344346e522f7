"""RefCOCOAccuracy: per referring expression (two expressions of one image are scored
separately, unlike the official eval_ref.py), IoU with the official +1-pixel convention."""
import numpy as np
import pytest
from mmengine.registry import init_default_scope
from mmpretrain.registry import METRICS

from mmpretrain_minigpt4.evaluation.metrics import box_iou_plus_one


def test_iou_counts_pixels_inclusively():
    # [0, 9] x [0, 9] is 10 x 10 = 100 pixels; [5, 14] x [0, 9] overlaps in 5 x 10 = 50.
    assert box_iou_plus_one((0, 0, 9, 9), (5, 0, 14, 9)) == pytest.approx(50 / 150)
    assert box_iou_plus_one((0, 0, 9, 9), (0, 0, 9, 9)) == 1.0
    assert box_iou_plus_one((0, 0, 9, 9), (20, 20, 29, 29)) == 0.0


def sample(answer, gt_box, image_id=7, shape=(200, 100)):
    return dict(pred_answer=answer, gt_bboxes=np.array([gt_box], dtype=np.float32),
                ori_shape=shape, image_id=image_id)


def test_expressions_of_one_image_are_scored_separately():
    init_default_scope('mmpretrain')
    metric = METRICS.build(dict(type='RefCOCOAccuracy'))
    # One image of 100 x 200 (width x height), two expressions with their own boxes.
    left, right = (0, 0, 49, 199), (50, 0, 99, 199)
    metric.process(None, [
        sample('{<0><0><49><99>}', left),      # -> (0, 0, 49, 198): its own box, hit
        sample('{<0><0><49><99>}', right),     # the same answer for the other: miss
        sample('{<50><0><99><99>}', right),    # -> (50, 0, 99, 198): hit
        sample('the left one', left),          # no box: a miss, counted in no_box
    ])
    metrics = metric.evaluate(4)
    assert metrics == {'RefCOCO/accuracy': 50.0, 'RefCOCO/no_box': 25.0}


def test_only_the_first_box_counts_and_the_threshold_is_strict():
    init_default_scope('mmpretrain')
    metric = METRICS.build(dict(type='RefCOCOAccuracy'))
    # Width 100, height 100: grid = pixels. IoU of (0,0,9,9) with (5,0,14,9) is 1/3.
    metric.process(None, [
        sample('{<5><0><14><9>}<delim>{<0><0><9><9>}', (0, 0, 9, 9), shape=(100, 100)),
    ])
    assert metric.evaluate(1)['RefCOCO/accuracy'] == 0.0
    half = METRICS.build(dict(type='RefCOCOAccuracy', iou_threshold=0.3))
    half.process(None, [sample('{<5><0><14><9>}', (0, 0, 9, 9), shape=(100, 100))])
    assert half.evaluate(1)['RefCOCO/accuracy'] == 100.0
