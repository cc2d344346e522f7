"""OfflineCOCOCaption against pycocoevalcap's own numbers. NEEDS JAVA (`java` on PATH):
the PTB tokenizer and METEOR are Java programs shipped in pycocoevalcap."""
import json
import os.path as osp

import pytest
from mmpretrain.registry import METRICS

import mmpretrain_minigpt4.evaluation  # noqa: F401
from mmpretrain_minigpt4.evaluation.metrics import offline_coco_caption

DATA = osp.join(osp.dirname(osp.dirname(__file__)), 'data', 'benchmarks', 'coco_caption')
GT_FILE = osp.join(DATA, 'annotations', 'coco_karpathy_test_gt.json')

# pycocoevalcap 1.2's COCOEvalCap.evaluate() on predictions.json with SPICE replaced by a
# stub (it cannot run offline); every other scorer is pycocoevalcap's own, unchanged.
PYCOCOEVALCAP_SCORES = {
    'Bleu_1': 0.9642857142512755, 'Bleu_2': 0.8560707580577993, 'Bleu_3': 0.7155881000261145,
    'Bleu_4': 0.5270161571599388, 'METEOR': 0.31958733204057627, 'ROUGE_L': 0.7113534317151234,
    'CIDEr': 1.7926204490388014,
}


def fixed_predictions():
    with open(osp.join(DATA, 'predictions.json')) as f:
        return json.load(f)


def test_scores_equal_pycocoevalcap_and_spice_is_skipped_with_a_notice(capsys):
    assert offline_coco_caption.spice_jars_missing(), 'expects no SPICE CoreNLP jars installed'
    metric = METRICS.build(dict(type='OfflineCOCOCaption', ann_file=GT_FILE))
    # A duplicate prediction for one image (e.g. from distributed padding) is dropped.
    results = fixed_predictions() + [dict(image_id=100001, caption='ignored duplicate')]
    scores = metric.compute_metrics(results)
    assert scores == pytest.approx(PYCOCOEVALCAP_SCORES, abs=1e-9)
    assert 'SPICE' not in scores
    log = capsys.readouterr().out
    assert 'SPICE skipped' in log and 'stanford-corenlp-3.6.0.jar' in log


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
