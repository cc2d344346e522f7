"""The benchmark input side: ScienceQA question text, VizWiz with all answers, prediction dumps."""
import json
import os.path as osp

import pytest
from mmpretrain.registry import DATASETS, METRICS, TRANSFORMS
from mmpretrain.structures import DataSample

import mmpretrain_minigpt4.evaluation  # noqa: F401
from mmpretrain_minigpt4.datasets.annotation_files import AnnotationFileError

DATA = osp.join(osp.dirname(osp.dirname(__file__)), 'data', 'benchmarks')


def test_multiple_choice_question_text():
    transform = TRANSFORMS.build(dict(type='FormatMultipleChoiceQuestion'))
    results = transform(dict(question='Which is a mammal?', choices=['frog', 'cat'],
                             hint='Look at the fur.'))
    assert results['question'] == (
        'Context: Look at the fur.\nQuestion: Which is a mammal?\nOptions: (A) frog (B) cat\n'
        "Answer with the option's letter from the given choices directly.")
    assert transform(dict(question='Q?', choices=['x'], hint=''))['question'].startswith(
        'Question: Q?\nOptions: (A) x\n')
    with pytest.raises(ValueError, match="1 to 5 choices, got 6 for question 'Q6'"):
        transform(dict(question='Q6', choices=list('abcdef')))


def test_vizwiz_keeps_unanswerable_questions_and_all_answers():
    kwargs = dict(data_root=osp.join(DATA, 'vizwiz'), data_prefix='val',
                  ann_file='Annotations/val.json', pipeline=[])
    ours = DATASETS.build(dict(type='VizWizAllQuestions', **kwargs))
    theirs = DATASETS.build(dict(type='VizWiz', **kwargs))
    assert len(theirs) == 2 and len(ours) == 3
    unanswerable = ours[1]
    assert unanswerable['question'] == 'What is the expiration date on this can?'
    assert unanswerable['gt_answer'] == ['unanswerable', 'unsuitable']
    assert unanswerable['gt_answer_weight'] == pytest.approx([0.8, 0.2])
    # 'latte' was given with confidence 'maybe': mmpretrain drops it, the benchmark does not.
    assert ours[0]['gt_answer'] == ['coffee', 'latte', 'cappuccino']
    assert theirs[0]['gt_answer'] == ['coffee', 'cappuccino']
    assert ours[0]['img_path'] == osp.join(DATA, 'vizwiz', 'val', 'VizWiz_val_00000000.jpg')


def test_vizwiz_rejects_a_non_list_file(tmp_path):
    (tmp_path / 'val.json').write_text(json.dumps({'questions': []}))
    with pytest.raises(AnnotationFileError,
                       match='val.json: expected the official VizWiz list of questions, got dict'):
        DATASETS.build(dict(type='VizWizAllQuestions', data_root=str(tmp_path), data_prefix='',
                            ann_file='val.json'))


def test_dump_predictions_writes_text_fields(tmp_path):
    out = tmp_path / 'preds.json'
    metric = METRICS.build(dict(type='DumpPredictions', out_file_path=str(out)))
    sample = DataSample(question='What?', pred_answer='cat', gt_answer=['cat'])
    sample.set_metainfo(dict(question_id=7, img_path='a.jpg'))
    metric.process(None, [sample])
    assert metric.compute_metrics(metric.results) == {}
    assert json.loads(out.read_text()) == [dict(question_id=7, img_path='a.jpg', question='What?',
                                                pred_answer='cat', gt_answer=['cat'])]
    with pytest.raises(ValueError, match="'preds.txt'"):
        METRICS.build(dict(type='DumpPredictions', out_file_path='preds.txt'))


def test_official_gqa_reads_the_released_dict_and_lavis_list(tmp_path):
    ours = DATASETS.build(dict(type='OfficialGQA', data_root=osp.join(DATA, 'gqa'),
                               data_prefix='images',
                               ann_file='questions/testdev_balanced_questions.json'))
    assert len(ours) == 3
    first = ours.get_data_info(0)
    assert (first['question_id'], first['image_id'], first['question'], first['gt_answer']) == (
        '201000001', 'n100001', 'What color is the suit?', 'orange')
    assert first['img_path'] == osp.join(DATA, 'gqa', 'images', 'n100001.jpg')

    lavis = [dict(image='n100003.jpg', question='What is the cup sitting on?', answer='saucer')]
    (tmp_path / 'lavis.json').write_text(json.dumps(lavis))
    (tmp_path / 'broken.json').write_text(json.dumps({'7': {'imageId': 'n1', 'question': 'Q?'}}))
    kwargs = dict(type='OfficialGQA', data_root=str(tmp_path), data_prefix='images')
    lavis_dataset = DATASETS.build(dict(kwargs, ann_file='lavis.json'))
    assert lavis_dataset.get_data_info(0)['gt_answer'] == 'saucer'
    with pytest.raises(AnnotationFileError,
                       match=r'broken.json: \["7"\]: missing field "answer" \(has "imageId", '
                             r'"question"\)'):
        DATASETS.build(dict(kwargs, ann_file='broken.json'))


def test_official_vsr_reads_the_released_jsonl(tmp_path):
    ours = DATASETS.build(dict(type='OfficialVSR', data_root=osp.join(DATA, 'vsr'),
                               data_prefix='images', ann_file='zeroshot/test.jsonl'))
    infos = [ours.get_data_info(i) for i in range(len(ours))]
    assert [(i['question'], i['gt_answer']) for i in infos] == [
        ('The cat is facing the camera.', 'yes'), ('The cat is under the table.', 'no'),
        ('The cup is on top of the saucer.', 'yes')]
    assert infos[2]['img_path'] == osp.join(DATA, 'vsr', 'images', '000000100003.jpg')

    (tmp_path / 'bad.jsonl').write_text(json.dumps(dict(image='a.jpg', caption='x', label=1)) + '\n'
                                        + json.dumps(dict(image='b.jpg', caption='y')) + '\n')
    with pytest.raises(AnnotationFileError,
                       match=r'bad.jsonl:2: missing field "label" \(has "image", "caption"\)'):
        DATASETS.build(dict(type='OfficialVSR', data_root=str(tmp_path), data_prefix='',
                            ann_file='bad.jsonl'))
