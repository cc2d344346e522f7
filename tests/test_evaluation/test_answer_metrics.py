"""VQAEvalAcc, VSRAcc, GQAAccuracy and ScienceQAAccuracy on hand-computed cases."""
import pytest
from mmpretrain.registry import METRICS
from mmpretrain.structures import DataSample

import mmpretrain_minigpt4.evaluation  # noqa: F401
from mmpretrain_minigpt4.evaluation.metrics import parse_choice
from mmpretrain_minigpt4.evaluation.metrics.vqa_eval_acc import leave_one_out_accuracy


def evaluate(metric_cfg, samples):
    metric = METRICS.build(metric_cfg)
    metric.process(None, [DataSample(**s) for s in samples])
    return metric.compute_metrics(metric.results)


@pytest.mark.parametrize('matches,expected', [(0, 0.0), (1, 0.3), (2, 0.6), (3, 0.9), (4, 1.0),
                                              (10, 1.0)])
def test_leave_one_out_accuracy_is_the_official_vqa_formula(matches, expected):
    assert leave_one_out_accuracy(matches, 10) == pytest.approx(expected)


def test_vqa_eval_acc_counts_answers_that_normalise_alike():
    samples = [
        # 'Two' (1 human) and '2' (1 human) both normalise to '2': 2 matches -> 0.6.
        dict(pred_answer='two.', gt_answer=['Two', '2', 'three'],
             gt_answer_weight=[0.1, 0.1, 0.8]),
        dict(pred_answer='a dog', gt_answer=['dog', 'cat'], gt_answer_weight=[0.3, 0.7]),  # 0.9
        dict(pred_answer='bird', gt_answer=['dog'], gt_answer_weight=[1.0]),  # 0
    ]
    assert evaluate(dict(type='VQAEvalAcc'), samples) == pytest.approx(
        {'acc': (0.6 + 0.9 + 0) / 3 * 100})
    # mmpretrain's VQAAcc on the same answers: min(1, n/3).
    assert evaluate(dict(type='VQAAcc'), samples) == pytest.approx(
        {'acc': (2 / 3 + 1 + 0) / 3 * 100})


def test_vqa_eval_acc_rejects_answer_counts_that_are_not_ten():
    with pytest.raises(ValueError, match='num_answers'):
        evaluate(dict(type='VQAEvalAcc'), [dict(pred_answer='a', gt_answer=['a', 'b'],
                                                gt_answer_weight=[1 / 3, 2 / 3])])
    assert evaluate(dict(type='VQAEvalAcc', num_answers=3), [
        dict(pred_answer='b', gt_answer=['a', 'b'], gt_answer_weight=[1 / 3, 2 / 3])]) == \
        pytest.approx({'acc': (2 * (1 / 3) + 1 * (2 / 3)) / 3 * 100})


def test_vsr_acc_reads_true_false_and_yes_no():
    samples = [dict(pred_answer='True.', gt_answer='yes'), dict(pred_answer='no', gt_answer='no'),
               dict(pred_answer='FALSE', gt_answer='yes'),
               dict(pred_answer='the cat is left', gt_answer='no')]
    assert evaluate(dict(type='VSRAcc'), samples) == {'acc': 50.0}
    with pytest.raises(ValueError, match="'maybe'"):
        evaluate(dict(type='VSRAcc'), [dict(pred_answer='yes', gt_answer='maybe')])


def test_gqa_accuracy_is_gqa_acc_in_percent():
    samples = [dict(pred_answer='A saucer.', gt_answer='saucer'),
               dict(pred_answer='no', gt_answer='yes'), dict(pred_answer='Two', gt_answer='2'),
               dict(pred_answer='left', gt_answer='right')]
    assert evaluate(dict(type='GQAAcc'), samples) == {'acc': 0.5}
    assert evaluate(dict(type='GQAAccuracy'), samples) == {'acc': 50.0}


@pytest.mark.parametrize('text,index', [
    ('B', 1), ('(B)', 1), ('B.', 1), ('C) bird', 2), ('The answer is C.', 2), ('Answer: (A)', 0),
    ('dog', 1), ('Dog.', 1), ('A cat', None), ('D', None), ('bird seed', None), ('', None)])
def test_parse_choice(text, index):
    assert parse_choice(text, ['cat', 'dog', 'bird']) == index


def test_scienceqa_accuracy_is_deterministic_with_independent_context_buckets():
    base = dict(choices=['cat', 'dog'], gt_answer=1, subject='natural science')
    samples = [
        dict(base, pred_answer='B', hint='A hint.', has_image=True, grade='grade2'),
        # No letter: wrong every time (mmpretrain's metric picks a random option).
        dict(base, pred_answer='I do not know', hint='', has_image=True, grade='grade9'),
        dict(base, pred_answer='dog', hint='', has_image=False, grade='grade9',
             subject='language science'),
    ]
    results = [evaluate(dict(type='ScienceQAAccuracy'), samples) for _ in range(5)]
    assert all(r == results[0] for r in results)
    assert results[0] == pytest.approx({
        'all_acc': 200 / 3, 'acc_natural': 50.0, 'acc_language': 100.0,
        'acc_has_text': 100.0, 'acc_has_image': 50.0, 'acc_no_context': 100.0,
        'acc_grade_1_6': 100.0, 'acc_grade_7_12': 50.0})
