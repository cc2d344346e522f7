"""The MiniGPT-v2 benchmark metrics: IconQA top-1 of the ranked candidates, Hateful Memes
yes/no accuracy with its non-matching share, VSR scored exactly as MiniGPT-v2 does."""
import pytest
import torch
from mmengine.registry import init_default_scope
from mmpretrain.registry import METRICS

from mmpretrain_minigpt4.evaluation.metrics import exact_true_false, yes_no_label


def evaluate(metric_cfg, samples):
    init_default_scope('mmpretrain')
    metric = METRICS.build(metric_cfg)
    metric.process(None, samples)
    return metric.evaluate(len(samples))


def test_iconqa_accuracy_compares_candidate_indices():
    samples = [dict(pred_candidate_index=0, gt_answer_index=0),
               dict(pred_candidate_index=2, gt_answer_index=1),
               # Two choices with the same text: the index decides.
               dict(pred_candidate_index=1, gt_answer_index=0, pred_answer='1',
                    gt_answer='1'),
               dict(pred_candidate_index=1, gt_answer_index=1)]
    assert evaluate(dict(type='IconQAAccuracy'), samples) == {'IconQA/acc': 50.0}


def test_iconqa_accuracy_needs_ranked_candidates():
    init_default_scope('mmpretrain')
    metric = METRICS.build(dict(type='IconQAAccuracy'))
    with pytest.raises(KeyError, match='needs `pred_candidate_index`.*`candidates`'):
        metric.process(None, [dict(pred_answer='a rocket', gt_answer_index=0)])


def test_yes_no_reading_is_the_official_one():
    assert [yes_no_label(a) for a in ('Yes', ' no ', 'YES', 'Yes.', 'hateful', '')] == [
        1, 0, 1, None, None, None]


def test_hateful_memes_accuracy_counts_other_answers_wrong_and_reports_them():
    # Labels as PackInputs gives them (tensors), answers as the model writes them.
    samples = [dict(pred_answer='No', gt_label=torch.tensor([0])),
               dict(pred_answer='yes', gt_label=torch.tensor([1])),
               dict(pred_answer='Yes.', gt_label=torch.tensor([1])),   # non-matching: wrong
               dict(pred_answer='no', gt_label=torch.tensor([1])),
               dict(pred_answer='I cannot tell', gt_label=0)]         # non-matching: wrong
    assert evaluate(dict(type='HatefulMemesAccuracy'), samples) == pytest.approx(
        {'HatefulMemes/acc': 40.0, 'HatefulMemes/non_matching': 40.0})


def test_hateful_memes_accuracy_needs_labels():
    init_default_scope('mmpretrain')
    metric = METRICS.build(dict(type='HatefulMemesAccuracy'))
    with pytest.raises(KeyError, match='needs `gt_label`'):
        metric.process(None, [dict(pred_answer='yes')])


def test_vsr_exact_match_is_minigptv2_scoring():
    assert [exact_true_false(a) for a in ('True', 'false', ' FALSE', 'True.', 'yes', 'no')] == [
        True, False, False, None, None, None]
    # Label 'yes' (1) / 'no' (0), as OfficialVSR stores it.
    samples = [dict(pred_answer='True', gt_answer='yes'),
               dict(pred_answer='true.', gt_answer='yes'),
               dict(pred_answer='yes', gt_answer='yes'),
               dict(pred_answer='False', gt_answer='no')]
    assert evaluate(dict(type='VSRAcc', exact_match=True), samples) == {'VSR/acc': 50.0}
    assert evaluate(dict(type='VSRAcc'), samples) == {'VSR/acc': 100.0}
