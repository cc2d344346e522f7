"""OfflineCOCOCaption against pycocoevalcap's own numbers. NEEDS JAVA (`java` on PATH):
the PTB tokenizer and METEOR are Java programs shipped in pycocoevalcap."""
import json
import logging.handlers
import os.path as osp

import pytest
from mmengine.logging import MMLogger
from mmpretrain.registry import METRICS

import mmpretrain_minigpt4.evaluation  # noqa: F401
from mmpretrain_minigpt4.evaluation.metrics import offline_coco_caption

DATA = osp.join(osp.dirname(osp.dirname(__file__)), 'data', 'benchmarks', 'coco_caption')
GT_FILE = osp.join(DATA, 'annotations', 'coco_karpathy_test_gt.json')


def pycocoevalcap_scores():
    """pycocoevalcap's own numbers for predictions.json (how they were made: see the file)."""
    with open(osp.join(DATA, 'pycocoevalcap_scores.json')) as f:
        return {k: v for k, v in json.load(f).items() if not k.startswith('_')}


def fixed_predictions():
    with open(osp.join(DATA, 'predictions.json')) as f:
        return json.load(f)


def test_scores_equal_pycocoevalcap_and_spice_is_skipped_with_a_notice(monkeypatch):
    # As offline here; also where someone installed the jars.
    missing = ['/site-packages/pycocoevalcap/spice/lib/stanford-corenlp-3.6.0.jar']
    monkeypatch.setattr(offline_coco_caption, 'spice_jars_missing', lambda: missing)
    metric = METRICS.build(dict(type='OfflineCOCOCaption', ann_file=GT_FILE))
    # A duplicate prediction for one image (e.g. from distributed padding) is dropped.
    results = fixed_predictions() + [dict(image_id=100001, caption='ignored duplicate')]
    logger = MMLogger.get_current_instance()
    notices = logging.handlers.BufferingHandler(capacity=100)
    logger.addHandler(notices)
    try:
        scores = metric.compute_metrics(results)
    finally:
        logger.removeHandler(notices)
    assert scores == pytest.approx(pycocoevalcap_scores(), abs=1e-9)
    assert 'SPICE' not in scores
    assert any('SPICE skipped' in r.getMessage() and 'stanford-corenlp-3.6.0.jar' in r.getMessage()
               for r in notices.buffer)


def test_prediction_for_unknown_image_is_an_error():
    metric = METRICS.build(dict(type='OfflineCOCOCaption', ann_file=GT_FILE, scorers=['Bleu']))
    with pytest.raises(KeyError, match=r'\[424242\].*coco_karpathy_test_gt.json'):
        metric.compute_metrics([dict(image_id=424242, caption='a cat')])


def test_missing_java_names_the_fix(monkeypatch):
    monkeypatch.setattr(offline_coco_caption.shutil, 'which', lambda name: None)
    with pytest.raises(RuntimeError, match='openjdk-17-jre-headless'):
        offline_coco_caption.score_captions({1: ['a cat']}, {1: 'a cat'}, ['Bleu'])


def test_bad_settings_are_named():
    with pytest.raises(FileNotFoundError, match='missing_gt.json'):
        METRICS.build(dict(type='OfflineCOCOCaption', ann_file='missing_gt.json'))
    with pytest.raises(ValueError, match='BLEU'):
        offline_coco_caption.score_captions({1: ['a cat']}, {1: 'a cat'}, ['BLEU'])
