"""Benchmark question files that cannot be used: each error names the file and the position."""
import json

import pytest
from mmpretrain.registry import DATASETS

import mmpretrain_minigpt4.evaluation  # noqa: F401
from mmpretrain_minigpt4.datasets.annotation_files import AnnotationFileError

VIZWIZ_QUESTION = dict(image='VizWiz_val_00000000.jpg', question='What is in this cup?',
                       answers=[dict(answer='coffee', answer_confidence='yes')])
GQA_QUESTION = dict(imageId='n100001', question='What color is the suit?', answer='orange')
VSR_ROW = dict(image='000000100002.jpg', caption='The cat is facing the camera.', label=1)


def jsonl(*rows) -> str:
    return ''.join(row if isinstance(row, str) else json.dumps(row) + '\n' for row in rows)


# (dataset type, annotation file, its text, the error message)
BAD_FILES = {
    'gqa invalid json': (
        'OfficialGQA', 'questions.json', '{"201": {"imageId": "n1",\n "question": }}',
        r"questions\.json:2:14: invalid JSON: Expecting value$"),
    'gqa not a dict or list': (
        'OfficialGQA', 'questions.json', '"n1"',
        r"questions\.json: expected the official GQA dict of questions \(or LAVIS's list\), "
        r'got str'),
    'gqa question not an object': (
        'OfficialGQA', 'questions.json', json.dumps({'201': GQA_QUESTION, '202': 'Q?'}),
        r'questions\.json: \["202"\]: expected an object with "imageId", "question", "answer", '
        r'got str'),
    'gqa lavis entry without answer': (
        'OfficialGQA', 'lavis.json', json.dumps([dict(image='n1.jpg', question='Q?')]),
        r'lavis\.json: \[0\]: missing field "answer" \(has "image", "question"\)'),
    'gqa no question': (
        'OfficialGQA', 'questions.json', '{}',
        r'questions\.json: no questions: the dataset would be empty'),
    'gqa not utf-8': (
        'OfficialGQA', 'questions.json', b'{"201": {"imageId": "n1",\n"question": "caf\xe9"}}',
        r'questions\.json:2: not UTF-8 \(byte 42\)'),
    'vsr invalid line': (
        'OfficialVSR', 'test.jsonl', jsonl(VSR_ROW, '\n', '{"image": "a.jpg", "label": 1,}\n'),
        r'test\.jsonl:3:31: invalid JSON: Expecting property name enclosed in double quotes$'),
    'vsr label not 0 or 1': (
        'OfficialVSR', 'test.jsonl', jsonl(VSR_ROW, dict(VSR_ROW, label=2)),
        r'test\.jsonl:2: "label" is 2, not 0 or 1'),
    'vsr line not an object': (
        'OfficialVSR', 'test.jsonl', jsonl(VSR_ROW, ['a.jpg']),
        r'test\.jsonl:2: expected an object with "image", "caption", "label", got list'),
    'vsr no statement': (
        'OfficialVSR', 'test.jsonl', '\n\n',
        r'test\.jsonl: no statements: the dataset would be empty'),
    'vsr converted entry without answer': (
        'OfficialVSR', 'test.json', json.dumps([dict(image='a.jpg', question='A cat.')]),
        r'test\.json: \[0\]: missing field "answer" \(has "image", "question"\)'),
    'vizwiz invalid json': (
        'VizWizAllQuestions', 'val.json', '[{"image": "a.jpg"\n\n  "question": "Q?"}]',
        r"val\.json:3:3: invalid JSON: Expecting ',' delimiter$"),
    'vizwiz question without image': (
        'VizWizAllQuestions', 'val.json', json.dumps([VIZWIZ_QUESTION, dict(question='Q?')]),
        r'val\.json: \[1\]: missing field "image" \(has "question"\)'),
    'vizwiz empty answers': (
        'VizWizAllQuestions', 'val.json', json.dumps([dict(VIZWIZ_QUESTION, answers=[])]),
        r'val\.json: \[0\]\.answers: empty list'),
    'vizwiz answer without text': (
        'VizWizAllQuestions', 'val.json',
        json.dumps([dict(VIZWIZ_QUESTION, answers=[dict(answer='a'), dict(confidence='yes')])]),
        r'val\.json: \[0\]\.answers\[1\]: missing field "answer" \(has "confidence"\)'),
    'vizwiz no question': (
        'VizWizAllQuestions', 'val.json', '[]',
        r'val\.json: no questions: the dataset would be empty'),
}


@pytest.mark.parametrize('case', sorted(BAD_FILES))
def test_bad_question_file_names_file_and_position(tmp_path, case):
    dataset_type, ann_file, content, message = BAD_FILES[case]
    path = tmp_path / ann_file
    path.write_bytes(content if isinstance(content, bytes) else content.encode('utf-8'))
    with pytest.raises(AnnotationFileError, match=message) as error:
        DATASETS.build(dict(type=dataset_type, data_root=str(tmp_path), data_prefix='images',
                            ann_file=ann_file))
    assert error.value.path == str(path)


@pytest.mark.parametrize('dataset_type, ann_file, content', [
    ('OfficialGQA', 'questions.json', json.dumps({'201': GQA_QUESTION})),
    ('OfficialVSR', 'test.jsonl', jsonl(VSR_ROW)),
    ('VizWizAllQuestions', 'val.json', json.dumps([VIZWIZ_QUESTION])),
], ids=['gqa', 'vsr', 'vizwiz'])
def test_one_good_question_is_a_dataset(tmp_path, dataset_type, ann_file, content):
    """The bad files above differ from these in one place only."""
    (tmp_path / ann_file).write_text(content)
    dataset = DATASETS.build(dict(type=dataset_type, data_root=str(tmp_path),
                                  data_prefix='images', ann_file=ann_file))
    assert len(dataset) == 1
