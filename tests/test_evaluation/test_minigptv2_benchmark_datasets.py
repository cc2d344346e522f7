"""The MiniGPT-v2 benchmark datasets: RefCOCO/+/g from the official eval_data files (one sample
per expression), IconQA with its candidates, Hateful Memes; values and the errors of bad files."""
import json
import os.path as osp

import numpy as np
import pytest
from mmengine.config import Config
from mmpretrain.registry import DATASETS

import mmpretrain_minigpt4.evaluation  # noqa: F401
from mmpretrain_minigpt4.datasets.annotation_files import AnnotationFileError

TESTS = osp.dirname(osp.dirname(osp.abspath(__file__)))
DATA = osp.join(TESTS, 'data', 'benchmarks')
REFCOCO_CONFIG = osp.join(osp.dirname(TESTS), 'configs', 'minigpt4', 'evaluation', 'tiny',
                          'minigptv2_tiny_refcoco-val.py')

EXPRESSION = dict(img_id='COCO_train2014_000000200001_1', sents='the woman', bbox=[16, 24, 96, 136],
                  height=160, width=160)
PROBLEM = dict(image_id='101', question='What is in the cup?', choices=['tea', 'coffee'], answer=1)
MEME = dict(id=1235, img='img/01235.png', label=0, text='monday mornings be like')


def refcoco(ann_file='eval_data/refcoco_val.json', data_root=osp.join(DATA, 'refcoco'), **kwargs):
    return DATASETS.build(dict(type='MiniGPTv2RefCOCO', data_root=data_root,
                               data_prefix='train2014', ann_file=ann_file, **kwargs))


def test_refcoco_gives_one_sample_per_expression():
    dataset = refcoco()
    assert len(dataset) == 3
    woman, flag, cat = (dataset[i] for i in range(3))
    assert [s['question'] for s in (woman, flag, cat)] == [
        'the woman in the orange suit', 'the flag behind her', 'the cat']
    # Two objects of one image: the same image, each expression with its own box.
    assert woman['image_id'] == flag['image_id'] == 'COCO_train2014_000000200001'
    assert woman['img_path'] == osp.join(DATA, 'refcoco', 'train2014',
                                         'COCO_train2014_000000200001.jpg')
    assert [s['question_id'] for s in (woman, flag, cat)] == [0, 1, 2]
    # [x, y, w, h] -> (1, 4) x1, y1, x2, y2 in pixels of the original image.
    assert woman['gt_bboxes'].shape == (1, 4) and woman['gt_bboxes'].dtype == np.float64
    np.testing.assert_array_equal(woman['gt_bboxes'], [[16, 24, 112, 160]])
    np.testing.assert_array_equal(flag['gt_bboxes'], [[0, 0, 48, 56]])
    np.testing.assert_allclose(cat['gt_bboxes'], [[32, 10.6, 128, 95.4]])
    assert (cat['height'], cat['width']) == (106, 160)


def test_refcoco_pipeline_packs_the_original_shape():
    pipeline = Config.fromfile(REFCOCO_CONFIG).test_dataloader.dataset.pipeline
    packed = refcoco(pipeline=pipeline)[2]
    assert tuple(packed['inputs'].shape) == (3, 448, 448)
    sample = packed['data_samples']
    assert sample.ori_shape == (106, 160) and sample.question == 'the cat'
    np.testing.assert_allclose(sample.gt_bboxes, [[32, 10.6, 128, 95.4]])


def test_refcoco_image_of_another_size_is_an_error(tmp_path):
    """A resized copy of a COCO image: the box (annotated pixels) would not fit the grid."""
    (tmp_path / 'val.json').write_text(json.dumps([dict(EXPRESSION, height=320, width=320)]))
    pipeline = Config.fromfile(REFCOCO_CONFIG).test_dataloader.dataset.pipeline
    dataset = refcoco(ann_file=str(tmp_path / 'val.json'), pipeline=pipeline,
                      data_root=osp.join(DATA, 'refcoco'))
    with pytest.raises(AnnotationFileError, match=r'val\.json: \[0\]: .*COCO_train2014_000000200001'
                       r'\.jpg is 160 x 160 pixels, the entry says 320 x 320'):
        dataset[0]


def test_iconqa_reads_the_release_folders():
    dataset = DATASETS.build(dict(type='IconQACandidates', data_root=osp.join(DATA, 'iconqa'),
                                  data_prefix='iconqa/val/choose_txt'))
    assert len(dataset) == 2
    rocket, cup = dataset[0], dataset[1]
    assert rocket['question'] == 'What is about to lift off?'
    assert rocket['candidates'] == ['a rocket', 'a bird', 'a kite']
    assert (rocket['gt_answer'], rocket['gt_answer_index']) == ('a rocket', 0)
    assert (cup['gt_answer'], cup['gt_answer_index']) == ('coffee', 1)
    assert cup['question_id'] == cup['image_id'] == '102'
    assert cup['img_path'] == osp.join(DATA, 'iconqa', 'iconqa/val/choose_txt/102/image.png')


def test_iconqa_reads_minigptv2_list(tmp_path):
    (tmp_path / 'choose_text_val.json').write_text(json.dumps([PROBLEM, dict(
        PROBLEM, image_id=7, question='How many?', choices=['1', '2', '3'], answer=2)]))
    dataset = DATASETS.build(dict(type='IconQACandidates', data_root=str(tmp_path),
                                  data_prefix='images', ann_file='choose_text_val.json'))
    assert [d['gt_answer'] for d in (dataset[0], dataset[1])] == ['coffee', '3']
    assert dataset[1]['question_id'] == '7' and dataset[1]['candidates'] == ['1', '2', '3']
    assert dataset[1]['img_path'] == osp.join(str(tmp_path), 'images', '7', 'image.png')


def test_iconqa_problem_folder_errors_name_its_data_json(tmp_path):
    folder = tmp_path / 'choose_txt' / '9'
    folder.mkdir(parents=True)
    (folder / 'data.json').write_text(json.dumps(dict(question='Q?', choices=['a'])))
    with pytest.raises(AnnotationFileError, match=r'9/data\.json: missing field "answer"'):
        DATASETS.build(dict(type='IconQACandidates', data_root=str(tmp_path),
                            data_prefix='choose_txt'))
    with pytest.raises(AnnotationFileError, match='no problem folders'):
        DATASETS.build(dict(type='IconQACandidates', data_root=str(folder),
                            data_prefix=''))


def test_hateful_memes_values():
    dataset = DATASETS.build(dict(type='HatefulMemes', data_root=osp.join(DATA, 'hateful_memes'),
                                  ann_file='dev.jsonl'))
    assert len(dataset) == 3
    assert [dataset[i]['gt_label'] for i in range(3)] == [0, 1, 0]
    assert dataset[1]['question'] == 'monday mornings be like'
    assert dataset[1]['question_id'] == 4678
    assert dataset[1]['img_path'] == osp.join(DATA, 'hateful_memes', 'img/04678.png')


def test_hateful_memes_test_split_has_no_label(tmp_path):
    (tmp_path / 'test.jsonl').write_text(json.dumps({k: v for k, v in MEME.items()
                                                     if k != 'label'}) + '\n')
    dataset = DATASETS.build(dict(type='HatefulMemes', data_root=str(tmp_path),
                                  ann_file='test.jsonl'))
    assert 'gt_label' not in dataset[0] and dataset[0]['question'] == MEME['text']


def jsonl(*rows) -> str:
    return ''.join(json.dumps(row) + '\n' for row in rows)


# (dataset type, annotation file, its text, the error message)
BAD_FILES = {
    'refcoco not a list': (
        'MiniGPTv2RefCOCO', 'refcoco_val.json', json.dumps(EXPRESSION),
        r"refcoco_val\.json: expected MiniGPT-v2's list of referring expressions, got dict"),
    'refcoco no expression': (
        'MiniGPTv2RefCOCO', 'refcoco_val.json', '[]',
        r'refcoco_val\.json: no expressions: the dataset would be empty'),
    'refcoco missing bbox': (
        'MiniGPTv2RefCOCO', 'refcoco_val.json',
        json.dumps([EXPRESSION, {k: v for k, v in EXPRESSION.items() if k != 'bbox'}]),
        r'refcoco_val\.json: \[1\]: missing field "bbox" \(has "img_id", "sents", "height", '
        r'"width"\)'),
    'refcoco sents a list': (
        'MiniGPTv2RefCOCO', 'refcoco_val.json', json.dumps([dict(EXPRESSION, sents=['a', 'b'])]),
        r'refcoco_val\.json: \[0\]\.sents: expected a string \(one expression per entry\), '
        r'got list'),
    'refcoco img_id names no image': (
        'MiniGPTv2RefCOCO', 'refcoco_val.json', json.dumps([dict(EXPRESSION, img_id='580957_4')]),
        r"refcoco_val\.json: \[0\]\.img_id: \"img_id\" '580957_4' does not start with a COCO "
        r'image name'),
    'refcoco img_id not a string': (
        'MiniGPTv2RefCOCO', 'refcoco_val.json', json.dumps([dict(EXPRESSION, img_id=580957)]),
        r'refcoco_val\.json: \[0\]\.img_id: expected a string, got int'),
    'refcoco bbox of three numbers': (
        'MiniGPTv2RefCOCO', 'refcoco_val.json', json.dumps([dict(EXPRESSION, bbox=[1, 2, 3])]),
        r'refcoco_val\.json: \[0\]\.bbox: expected four numbers \[x, y, w, h\], got \[1, 2, 3\]'),
    'refcoco zero height': (
        'MiniGPTv2RefCOCO', 'refcoco_val.json', json.dumps([dict(EXPRESSION, height=0)]),
        r'refcoco_val\.json: \[0\]\.height: expected a positive integer, got 0'),
    'iconqa list entry without image_id': (
        'IconQACandidates', 'choose_text_val.json',
        json.dumps([{k: v for k, v in PROBLEM.items() if k != 'image_id'}]),
        r'choose_text_val\.json: \[0\]: missing field "image_id"'),
    'iconqa answer out of range': (
        'IconQACandidates', 'choose_text_val.json', json.dumps([dict(PROBLEM, answer=2)]),
        r'choose_text_val\.json: \[0\]\.answer: expected the index of a choice \(0 to 1\), got 2'),
    'iconqa answer as text': (
        'IconQACandidates', 'choose_text_val.json', json.dumps([dict(PROBLEM, answer='coffee')]),
        r"choose_text_val\.json: \[0\]\.answer: expected the index of a choice \(0 to 1\), "
        r"got 'coffee'"),
    'iconqa choices joined': (
        'IconQACandidates', 'choose_text_val.json',
        json.dumps([dict(PROBLEM, choices='tea_coffee')]),
        r"choose_text_val\.json: \[0\]\.choices: expected a non-empty list of non-empty strings, "
        r"got 'tea_coffee'"),
    'iconqa no problem': (
        'IconQACandidates', 'choose_text_val.json', '[]',
        r'choose_text_val\.json: no problems: the dataset would be empty'),
    'hateful memes label not 0 or 1': (
        'HatefulMemes', 'dev.jsonl', jsonl(MEME, dict(MEME, label='hateful')),
        r"dev\.jsonl:2: \"label\" is 'hateful', not 0 or 1"),
    'hateful memes without text': (
        'HatefulMemes', 'dev.jsonl', jsonl({k: v for k, v in MEME.items() if k != 'text'}),
        r'dev\.jsonl:1: missing field "text" \(has "id", "img", "label"\)'),
    'hateful memes text not a string': (
        'HatefulMemes', 'dev.jsonl', jsonl(dict(MEME, text=None)),
        r'dev\.jsonl:1: expected a string in "text", got NoneType'),
    'hateful memes invalid line': (
        'HatefulMemes', 'dev.jsonl', jsonl(MEME) + '{"id": 2,}\n',
        r'dev\.jsonl:2:10: invalid JSON'),
    'hateful memes no meme': (
        'HatefulMemes', 'dev.jsonl', '\n',
        r'dev\.jsonl: no memes: the dataset would be empty'),
}


@pytest.mark.parametrize('case', sorted(BAD_FILES))
def test_bad_file_names_file_and_field(tmp_path, case):
    dataset_type, ann_file, content, message = BAD_FILES[case]
    path = tmp_path / ann_file
    path.write_text(content)
    with pytest.raises(AnnotationFileError, match=message) as error:
        DATASETS.build(dict(type=dataset_type, data_root=str(tmp_path), data_prefix='images',
                            ann_file=ann_file))
    assert error.value.path == str(path)


@pytest.mark.parametrize('dataset_type, ann_file, content', [
    ('MiniGPTv2RefCOCO', 'refcoco_val.json', json.dumps([EXPRESSION])),
    ('IconQACandidates', 'choose_text_val.json', json.dumps([PROBLEM])),
    ('HatefulMemes', 'dev.jsonl', jsonl(MEME)),
], ids=['refcoco', 'iconqa', 'hateful-memes'])
def test_one_good_entry_is_a_dataset(tmp_path, dataset_type, ann_file, content):
    """The bad files above differ from these in one place only."""
    (tmp_path / ann_file).write_text(content)
    dataset = DATASETS.build(dict(type=dataset_type, data_root=str(tmp_path),
                                  data_prefix='images', ann_file=ann_file))
    assert len(dataset) == 1
