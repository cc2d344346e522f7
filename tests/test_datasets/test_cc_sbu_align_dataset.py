"""Stage-2 cc_sbu_align: filter_cap.json + image/{image_id}.jpg."""
import json
import os.path as osp

import numpy as np
import pytest
from mmpretrain.registry import DATASETS
from PIL import Image

from minigpt4_mini_data import (MINI_DATA, align_copy, dataset_test_env,  # noqa: F401
                                mini_captions, mmengine_log)

from mmpretrain_minigpt4.conversation import ALIGNMENT_INSTRUCTIONS
from mmpretrain_minigpt4.datasets import BadSampleError, CCSBUAlignDataset
from mmpretrain_minigpt4.datasets.annotation_files import AnnotationFileError

pytestmark = pytest.mark.usefixtures('dataset_test_env')

STAGE2_PIPELINE = [
    dict(type='Resize', scale=(224, 224), keep_ratio=False, interpolation='bicubic',
         backend='pillow'),
    dict(type='RandomInstruction'),
    dict(type='PackInputs', algorithm_keys=['instruction', 'gt_caption'], meta_keys=['image_id']),
]


def test_reads_annotations_and_images(mini_captions):
    dataset = CCSBUAlignDataset(data_root=osp.join(MINI_DATA, 'cc_sbu_align'))
    assert len(dataset) == 8
    sample = dataset[1]
    assert sample['image_id'] == '1'
    # Captions are used unprocessed (the official loader does not clean them).
    assert sample['gt_caption'] == mini_captions['chelsea']['description']
    rgb = np.asarray(Image.open(osp.join(MINI_DATA, 'cc_sbu_align/image/1.jpg')).convert('RGB'))
    np.testing.assert_array_equal(sample['img'], rgb[..., ::-1])
    assert sample['ori_shape'] == rgb.shape[:2] == (170, 256)


def test_grey_photo_becomes_three_channels():
    dataset = CCSBUAlignDataset(data_root=osp.join(MINI_DATA, 'cc_sbu_align'))
    img = dataset[4]['img']  # camera: a greyscale photo
    assert img.shape[2] == 3
    np.testing.assert_array_equal(img[..., 0], img[..., 2])


def test_stage2_pipeline_packs_a_random_instruction_and_the_caption(mini_captions):
    dataset = DATASETS.build(dict(type='CCSBUAlignDataset',
                                  data_root=osp.join(MINI_DATA, 'cc_sbu_align'),
                                  pipeline=STAGE2_PIPELINE))
    np.random.seed(1)
    instructions = set()
    for idx in range(len(dataset)):
        packed = dataset[idx]
        assert packed['inputs'].shape == (3, 224, 224)
        sample = packed['data_samples']
        assert sample.gt_caption == list(mini_captions.values())[idx]['description']
        assert 'prompt' not in sample  # the model applies its template
        instructions.add(sample.instruction)
    assert instructions <= set(ALIGNMENT_INSTRUCTIONS)
    assert len(instructions) > 1  # drawn per sample


def write_annotations(root, annotations):
    with open(root / 'filter_cap.json', 'w') as f:
        json.dump(dict(annotations=annotations), f)


def test_missing_image_names_file_and_image_id(align_copy):
    (align_copy / 'image' / '3.jpg').unlink()
    dataset = CCSBUAlignDataset(data_root=str(align_copy))
    with pytest.raises(BadSampleError,
                       match=r"filter_cap\.json \(image_id '3'\): image file not found: "
                             r'.*image/3\.jpg'):
        dataset[3]


def test_corrupt_image_names_file_and_image_id(align_copy):
    data = (align_copy / 'image' / '2.jpg').read_bytes()
    (align_copy / 'image' / '2.jpg').write_bytes(data[:len(data) // 3])
    dataset = CCSBUAlignDataset(data_root=str(align_copy))
    with pytest.raises(BadSampleError, match=r"image/2\.jpg \(image_id '2'\): corrupt image"):
        dataset[2]


def test_empty_caption_names_file_and_image_id(align_copy):
    write_annotations(align_copy, [dict(image_id='0', caption=' ')])
    with pytest.raises(BadSampleError, match=r"filter_cap\.json \(image_id '0'\): empty caption"):
        CCSBUAlignDataset(data_root=str(align_copy))[0]


def test_skip_mode_counts_skipped_samples(align_copy):
    (align_copy / 'image' / '0.jpg').unlink()
    write_annotations(align_copy, [dict(image_id='0', caption='a'), dict(image_id='1', caption='b')])
    dataset = CCSBUAlignDataset(data_root=str(align_copy), on_bad_sample='skip')
    np.random.seed(0)
    with mmengine_log() as log:
        sample = dataset[0]
    assert sample['image_id'] == '1'
    assert dataset.num_skipped == len(log) >= 1
    assert "(image_id '0'): image file not found" in log[0]


def test_invalid_json_names_file_line_and_column(align_copy):
    (align_copy / 'filter_cap.json').write_text('{"annotations": [\n  {"image_id": "0",\n'
                                                '   "caption": "a cat" "on a mat"}]}')
    # Line 3, column 23: where the second string starts.
    with pytest.raises(AnnotationFileError,
                       match=r"filter_cap\.json:3:23: invalid JSON: Expecting ',' delimiter$"):
        CCSBUAlignDataset(data_root=str(align_copy))


@pytest.mark.parametrize('content, message', [
    ([], r'filter_cap\.json: expected an object with "annotations", got list'),
    ({'images': []}, r'filter_cap\.json: missing field "annotations" \(has "images"\)'),
    ({'annotations': {'0': 'a cat'}}, r'filter_cap\.json: annotations: expected a list, got dict'),
    ({'annotations': [{'image_id': '0', 'caption': 'a'}, ['1', 'b']]},
     r'filter_cap\.json: annotations\[1\]: expected an object with "image_id", "caption", '
     r'got list'),
    ({'annotations': [{'image_id': '0', 'caption': 'a'}, {'image_id': '1'}]},
     r'filter_cap\.json: annotations\[1\]: missing field "caption" \(has "image_id"\)'),
    ({'annotations': []}, r'filter_cap\.json: no annotations: the dataset would be empty'),
], ids=['list', 'no annotations field', 'annotations not a list', 'entry not an object',
        'entry without caption', 'empty'])
def test_malformed_annotation_file_names_file_and_entry(align_copy, content, message):
    (align_copy / 'filter_cap.json').write_text(json.dumps(content))
    with pytest.raises(AnnotationFileError, match=message):
        CCSBUAlignDataset(data_root=str(align_copy))


def test_lazy_dataset_reports_the_file_at_full_init(align_copy):
    write_annotations(align_copy, [])
    dataset = CCSBUAlignDataset(data_root=str(align_copy), lazy_init=True)
    with pytest.raises(AnnotationFileError, match='no annotations'):
        dataset.full_init()


def test_missing_annotation_file_names_it(tmp_path):
    with pytest.raises(FileNotFoundError, match=r'annotation file not found: .*filter_cap\.json'):
        CCSBUAlignDataset(data_root=str(tmp_path))
