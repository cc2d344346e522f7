"""MiniGPT-v2 stage-3 grounding datasets: RefCOCO/+/g both ways, Visual Genome regions,
the filtered Flickr30k files; the plain-data pickle reader behind RefCOCO.

The mini data (tests/data/minigptv2_train) is laid out as the official README
lays out the data folder. Box texts below are computed by hand with the
official rule ``int(x / W * 100)`` on the decoded image (chelsea 160 x 106,
coffee 160 x 107, astronaut 160 x 160, rocket 160 x 107).
"""
import json
import os
import os.path as osp
import pickle
import shutil
from collections import OrderedDict

import numpy as np
import pytest
from mmpretrain.registry import DATASETS
from PIL import Image

from code_running_pickles import CreatesMarker
from minigpt4_mini_data import dataset_test_env  # noqa: F401
from minigptv2_mini_data import CAT_FILE, CUP_FILE, MINI, PACK, load_packed, write_json

from mmpretrain_minigpt4.datasets.annotation_files import AnnotationFileError
from mmpretrain_minigpt4.datasets.image_text_dataset import BadSampleError
from mmpretrain_minigpt4.datasets.minigptv2 import (FlickrCaptionToPhraseDataset,
                                                    FlickrGroundedCaptionDataset,
                                                    FlickrObjectToPhraseDataset,
                                                    ReferCOCODataset,
                                                    ReferVisualGenomeDataset, load_plain_pickle)
from mmpretrain_minigpt4.grounding import INSTRUCTION_POOLS, task_instruction

pytestmark = pytest.mark.usefixtures('dataset_test_env')

INSTANCES = osp.join(MINI, 'refcoco_annotations/refcoco/instances.json')


def sentence(raw, sent_id):
    return dict(raw=raw, sent=raw.lower(), tokens=raw.lower().split(), sent_id=sent_id)


def ref(ref_id, ann_id, image_id, split, raws, category_id=17):
    """A ref as in the official refs(unc).p."""
    return dict(ref_id=ref_id, ann_id=ann_id, image_id=image_id, category_id=category_id,
                split=split, file_name=f'COCO_train2014_{image_id:012}_{ann_id}.jpg',
                sent_ids=list(range(len(raws))),
                sentences=[sentence(raw, i) for i, raw in enumerate(raws)])


def mini_refs():
    """Two train refs (one of chelsea, one of coffee), one val, one testA."""
    return [
        ref(0, 1001, 100011, 'train', ['The Cat, on the LEFT!', 'orange  tabby (cat)']),
        ref(1, 1002, 100012, 'train', ['white cup'], category_id=47),
        ref(2, 1003, 100011, 'val', ['the cat on the right']),
        ref(3, 1004, 100012, 'testA', ['cup on the right'], category_id=47),
    ]


def write_pickle(path, content, protocol=2):
    """protocol 2: as the Python 2 era refs files."""
    with open(path, 'wb') as f:
        pickle.dump(content, f, protocol=protocol)
    return str(path)


@pytest.fixture(scope='module')
def refs_file(tmp_path_factory):
    return write_pickle(tmp_path_factory.mktemp('refcoco') / 'refs(unc).p', mini_refs())


# Built once: the tests only read them.
@pytest.fixture(scope='module')
def refcoco(refs_file):
    return ReferCOCODataset(data_root=MINI, ann_file=refs_file)


@pytest.fixture(scope='module')
def refvg():
    return ReferVisualGenomeDataset(data_root=MINI)


# Datasets of which one sample is read are not serialized (MMEngine's gc.collect is slow).
ONE_SAMPLE = dict(serialize_data=False)


@pytest.fixture
def data_copy(tmp_path):
    """A writable copy of the mini data folder."""
    target = tmp_path / 'minigptv2_train'
    shutil.copytree(MINI, target)
    return target


def draw(dataset, idx, seed):
    np.random.seed(seed)
    return dataset[idx]


def draws(dataset, idx, count=150, seed=0):
    """The (instruction, answer) pairs of ``count`` loadings of one sample."""
    np.random.seed(seed)
    return {(sample['instruction'], sample['answer'])
            for sample in (dataset[idx] for _ in range(count))}


# --------------------------------------------------------------------- plain pickles
@pytest.mark.parametrize('protocol', [0, 2, 5])
def test_plain_pickle_loads_lists_of_dicts(tmp_path, protocol):
    content = [dict(ref_id=0, split='train', box=(1.5, 2, 3, 4), ok=True, none=None,
                    sentences=[dict(raw='a café', tokens=['a', 'café'])]), dict(), -7]
    path = write_pickle(tmp_path / 'plain.p', content, protocol)
    assert load_plain_pickle(path) == content


class RunsShell:
    """Unpickled by a full unpickler, this calls ``os.system('touch marker')``."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f'touch {self.marker}', )


@pytest.mark.parametrize('make, global_name', [
    (RunsShell, f'{os.system.__module__}.system'),
    (CreatesMarker, 'os.makedirs'),
], ids=['os.system', 'os.makedirs'])
def test_pickle_referring_to_a_global_is_refused_without_running(tmp_path, make, global_name):
    marker = tmp_path / 'ran'
    path = write_pickle(tmp_path / 'refs(unc).p', [dict(ref_id=0), make(str(marker))])
    with pytest.raises(AnnotationFileError,
                       match=rf'refs\(unc\)\.p: refused to unpickle: the file refers to the '
                             rf'global {global_name}'):
        load_plain_pickle(path)
    assert not marker.exists()
    # And through the dataset.
    with pytest.raises(AnnotationFileError, match=r'refs\(unc\)\.p: refused to unpickle'):
        ReferCOCODataset(data_root=MINI, ann_file=path)
    assert not marker.exists()


def test_pickle_of_a_class_instance_is_refused(tmp_path):
    path = write_pickle(tmp_path / 'refs.p', OrderedDict(a=1))
    with pytest.raises(AnnotationFileError, match='global collections.OrderedDict'):
        load_plain_pickle(path)


def test_empty_or_damaged_pickle_names_the_file(tmp_path):
    empty = tmp_path / 'empty.p'
    empty.write_bytes(b'')
    with pytest.raises(AnnotationFileError, match=r'empty\.p: empty file \(expected a pickle\)'):
        load_plain_pickle(str(empty))
    data = pickle.dumps(mini_refs(), protocol=2)
    damaged = tmp_path / 'damaged.p'
    damaged.write_bytes(data[:len(data) // 2])
    with pytest.raises(AnnotationFileError, match=r'damaged\.p: not a readable pickle'):
        load_plain_pickle(str(damaged))


# --------------------------------------------------------------------- RefCOCO
def test_refcoco_has_the_train_refs_only(refs_file):
    dataset = DATASETS.build(dict(type='ReferCOCODataset', data_root=MINI, ann_file=refs_file))
    assert len(dataset) == 2  # of 4 refs: 'val' and 'testA' are left out
    assert [dataset.get_data_info(i)['ref_id'] for i in range(2)] == [0, 1]


def test_refcoco_sample_strings(refcoco):
    np.random.seed(1)
    assert (np.random.randint(2), np.random.randint(7)) == (1, 3)
    sample = draw(refcoco, 0, seed=1)  # the second sentence, the fourth instruction
    # 'orange  tabby (cat)' through blip_caption.
    assert sample['instruction'] == ('[refer] from this image, tell me the location of '
                                     'orange tabby cat')
    # COCO box [40.5, 20, 60, 50] in 160 x 106: 40.5/160 -> 25, 20/106 -> 18 (18.87),
    # 100.5/160 -> 62, 70/106 -> 66 (66.04).
    assert sample['answer'] == '{<25><18><62><66>}'
    assert sample['image_id'] == 100011
    assert sample['img_path'] == CAT_FILE
    assert sample['ori_shape'] == (106, 160)
    rgb = np.asarray(Image.open(sample['img_path']).convert('RGB'))
    np.testing.assert_array_equal(sample['img'], rgb[..., ::-1])

    np.random.seed(0)
    assert (np.random.randint(1), np.random.randint(7)) == (0, 4)
    sample = draw(refcoco, 1, seed=0)
    assert sample['instruction'] == '[refer] the location of white cup is'
    # [10, 53.5, 64, 40] in 160 x 107: 6 (6.25), 50 (53.5/107 = 0.5), 46 (46.25), 87 (87.38).
    assert sample['answer'] == '{<6><50><46><87>}'
    assert sample['ori_shape'] == (107, 160)


def test_refcoco_draws_every_sentence_and_instruction(refcoco):
    expected = {(task_instruction('refer', i, expression), '{<25><18><62><66>}')
                for i in range(7) for expression in ('the cat, on the left', 'orange tabby cat')}
    assert draws(refcoco, 0) == expected

    def sequence(seed):
        np.random.seed(seed)
        return [refcoco[0]['instruction'] for _ in range(10)]

    assert sequence(3) == sequence(3) != sequence(4)  # the seed decides


def test_inverse_refcoco_sample_strings(refs_file):
    dataset = DATASETS.build(dict(type='InvReferCOCODataset', data_root=MINI, ann_file=refs_file))
    assert len(dataset) == 2
    sample = draw(dataset, 0, seed=1)  # the second sentence, the fourth instruction
    assert sample['instruction'] == '[identify] what is it in {<25><18><62><66>}'
    assert sample['answer'] == 'orange tabby cat'
    sample = draw(dataset, 1, seed=0)  # the fifth instruction
    assert sample['instruction'] == '[identify] describe this object in {<6><50><46><87>}'
    assert sample['answer'] == 'white cup'
    assert {instruction for instruction, _ in draws(dataset, 0)} == {
        pool.format('{<25><18><62><66>}') for pool in INSTRUCTION_POOLS['identify']}


def test_refcoco_pipeline_packs_instruction_and_answer(refs_file):
    inputs, sample = load_packed(dict(type='ReferCOCODataset', data_root=MINI,
                                      ann_file=refs_file), 1, 64)
    assert inputs.shape == (3, 64, 64)
    assert sample.instruction == '[refer] the location of white cup is'
    assert sample.answer == '{<6><50><46><87>}'
    assert sample.image_id == 100012
    assert sample.img_path == CUP_FILE


def refs_with(change):
    refs = mini_refs()
    change(refs)
    return refs


@pytest.mark.parametrize('refs, message', [
    ({'refs': []}, r'refs\(unc\)\.p: expected a list of refs, got dict'),
    (refs_with(lambda refs: refs[1].pop('sentences')),
     r'refs\(unc\)\.p: \[1\]: missing field "sentences" \(has "ref_id", '),
    (refs_with(lambda refs: refs[3].pop('split')), r'\[3\]: missing field "split"'),
    (refs_with(lambda refs: refs[0].update(sentences='the cat')),
     r'\[0\]\.sentences: expected a list of sentences, got str'),
    (refs_with(lambda refs: refs[0].update(sentences=[])), r'\[0\]\.sentences: no sentences'),
    (refs_with(lambda refs: refs[0]['sentences'][1].update(raw=7)),
     r'\[0\]\.sentences\[1\]\.raw: expected a string, got int'),
    (refs_with(lambda refs: refs[1].update(ann_id=9999)),
     r'\[1\]\.ann_id: ann_id 9999 is not an annotation of .*instances\.json'),
    (refs_with(lambda refs: [r.update(split='val') for r in refs]),
     r"refs\(unc\)\.p: no refs of the 'train' split: the dataset would be empty"),
], ids=['not a list', 'no sentences field', 'no split field', 'sentences not a list',
        'empty sentences', 'raw not a string', 'unknown ann_id', 'no train ref'])
def test_bad_refs_name_the_file_and_entry(tmp_path, refs, message):
    path = write_pickle(tmp_path / 'refs(unc).p', refs)
    with pytest.raises(AnnotationFileError, match=message):
        ReferCOCODataset(data_root=MINI, ann_file=path)


def instances_with(change):
    with open(INSTANCES) as f:
        instances = json.load(f)
    change(instances)
    return json.dumps(instances)


@pytest.mark.parametrize('text, message', [
    ('', r'instances\.json:1:1: invalid JSON: Expecting value'),
    (instances_with(lambda i: i.pop('annotations')),
     r'instances\.json: missing field "annotations" \(has "images", "categories"\)'),
    (instances_with(lambda i: i['annotations'][0].pop('bbox')),
     r'instances\.json: annotations\[0\]: missing field "bbox"'),
    (instances_with(lambda i: i['annotations'][1].update(bbox='10 53 64 40')),
     r"instances\.json: annotations\[1\]\.bbox: expected a COCO box \[x, y, w, h\] as four "
     r"finite numbers, got '10 53 64 40'"),
    (instances_with(lambda i: i['annotations'][0].update(bbox=[40, 20, 60])),
     r'annotations\[0\]\.bbox: expected a COCO box .* got \[40, 20, 60\]'),
], ids=['empty file', 'no annotations', 'no bbox', 'bbox a string', 'three numbers'])
def test_bad_instances_name_the_file_and_entry(tmp_path, refs_file, text, message):
    (tmp_path / 'instances.json').write_text(text)
    with pytest.raises(AnnotationFileError, match=message):
        ReferCOCODataset(data_root=MINI, ann_file=refs_file,
                         instances_file=str(tmp_path / 'instances.json'))


def test_box_outside_the_image_names_the_ref(tmp_path, refs_file):
    (tmp_path / 'instances.json').write_text(
        instances_with(lambda i: i['annotations'][0].update(bbox=[120, 20, 60, 50])))
    dataset = ReferCOCODataset(data_root=MINI, ann_file=refs_file,
                               instances_file=str(tmp_path / 'instances.json'), **ONE_SAMPLE)
    with pytest.raises(BadSampleError,
                       match=r'refs\(unc\)\.p \(ref_id 0\): Box \(120\.0, 20\.0, 180\.0, 70\.0\) '
                             r'\(x1, y1, x2, y2\) is not inside an image of 160 x 106 pixels'):
        dataset[0]
    skipping = ReferCOCODataset(data_root=MINI, ann_file=refs_file, on_bad_sample='skip',
                                instances_file=str(tmp_path / 'instances.json'), **ONE_SAMPLE)
    np.random.seed(0)
    assert skipping[0]['ref_id'] == 1
    assert skipping.num_skipped >= 1


def test_missing_image_and_empty_sentence_name_the_ref(tmp_path, data_copy):
    refs = mini_refs()
    refs[1]['sentences'] = [sentence('...', 0)]
    path = write_pickle(tmp_path / 'refs(unc).p', refs)
    (data_copy / 'coco/images/COCO_train2014_000000100011.jpg').unlink()
    dataset = ReferCOCODataset(data_root=str(data_copy), ann_file=path, **ONE_SAMPLE)
    with pytest.raises(BadSampleError, match=r'\(ref_id 0\): image file not found: '
                                             r'.*COCO_train2014_000000100011\.jpg'):
        dataset[0]
    with pytest.raises(BadSampleError,
                       match=r"\(ref_id 1\): expression '\.\.\.' is empty after blip_caption"):
        dataset[1]


def test_missing_refs_file_names_it(tmp_path):
    with pytest.raises(FileNotFoundError, match=r'RefCOCO refs file not found: .*refs\(umd\)\.p'):
        ReferCOCODataset(data_root=MINI, ann_file=str(tmp_path / 'refs(umd).p'))


# --------------------------------------------------------------------- Visual Genome
def test_refvg_keeps_regions_under_16384_pixels():
    dataset = DATASETS.build(dict(type='ReferVisualGenomeDataset', data_root=MINI))
    # Region 2 is 128 x 128 = 16384 (not < 16384) and region 5 is 160 x 107.
    assert [dataset.get_data_info(i)['region_id'] for i in range(len(dataset))] == [1, 3, 4]


def test_refvg_sample_strings(refvg):
    expected = [
        # 'The astronaut's Helmet.' through blip_caption; (15, 33, 40, 30) in 160 x 160:
        # 9 (9.375), 20 (20.625), 34 (34.375), 39 (39.375).
        ("[refer] the location of the astronaut's helmet is", '{<9><20><34><39>}',
         'VG_100K/100021.jpg', (160, 160)),
        # 127 x 129 = 16383 pixels: 79 (79.375), 80 (80.625).
        ('[refer] the location of an astronaut in a white suit is', '{<0><0><79><80>}',
         'VG_100K/100021.jpg', (160, 160)),
        # (60, 5, 30, 90) in 160 x 107: 37 (37.5), 4 (4.67), 56 (56.25), 88 (88.79).
        ('[refer] the location of a rocket on the launch pad is', '{<37><4><56><88>}',
         'VG_100K_2/100022.jpg', (107, 160)),
    ]
    for idx, (instruction, answer, image, shape) in enumerate(expected):
        sample = draw(refvg, idx, seed=0)  # the fifth instruction
        assert (sample['instruction'], sample['answer']) == (instruction, answer)
        assert sample['img_path'] == osp.join(MINI, 'visual_genome', image)  # from the url
        assert sample['ori_shape'] == shape
    assert draws(refvg, 2) == {(pool.format('a rocket on the launch pad'), '{<37><4><56><88>}')
                                 for pool in INSTRUCTION_POOLS['refer']}


def test_refvg_reads_the_older_image_id_spelling(data_copy):
    path = data_copy / 'visual_genome/image_data.json'
    images = json.loads(path.read_text())
    for image in images:
        image['id'] = image.pop('image_id')
    write_json(path, images)
    assert len(ReferVisualGenomeDataset(data_root=str(data_copy), **ONE_SAMPLE)) == 3


def edit_json(path, change):
    content = json.loads(path.read_text())
    change(content)
    write_json(path, content)


@pytest.mark.parametrize('file, change, message', [
    ('region_descriptions.json', lambda c: c.clear(),
     r'region_descriptions\.json: no images: the dataset would be empty'),
    ('region_descriptions.json', lambda c: c[0]['regions'][0].pop('phrase'),
     r'region_descriptions\.json: \[0\]\.regions\[0\]: missing field "phrase"'),
    ('region_descriptions.json', lambda c: c[1]['regions'][0].update(x='60'),
     r"\[1\]\.regions\[0\]: expected x, y, width, height as four finite numbers, "
     r"got \['60', 5, 30, 90\]"),
    ('region_descriptions.json', lambda c: c[0]['regions'][0].update(phrase=['a helmet']),
     r'\[0\]\.regions\[0\]\.phrase: expected a string, got list'),
    ('region_descriptions.json', lambda c: c[1].update(id=7),
     r'region_descriptions\.json: \[1\]\.id: image 7 is not in .*image_data\.json'),
    ('region_descriptions.json',
     lambda c: [r.update(width=200, height=100) for i in c for r in i['regions']],
     r'no regions smaller than 16384 pixels: the dataset would be empty'),
    ('image_data.json', lambda c: c[1].pop('url'),
     r'image_data\.json: \[1\]: missing field "url"'),
], ids=['empty', 'no phrase', 'x a string', 'phrase a list', 'unknown image', 'all too large',
        'no url'])
def test_bad_visual_genome_files_name_the_file_and_entry(data_copy, file, change, message):
    edit_json(data_copy / 'visual_genome' / file, change)
    with pytest.raises(AnnotationFileError, match=message):
        ReferVisualGenomeDataset(data_root=str(data_copy))


def test_refvg_box_outside_the_image_names_the_region(data_copy):
    edit_json(data_copy / 'visual_genome/region_descriptions.json',
              lambda c: c[1]['regions'][0].update(y=20))  # 20 + 90 > 107
    dataset = ReferVisualGenomeDataset(data_root=str(data_copy), **ONE_SAMPLE)
    with pytest.raises(BadSampleError,
                       match=r'region_descriptions\.json \(\[1\]\.regions\[0\], region_id 4\): '
                             r'Box .* is not inside an image of 160 x 107 pixels'):
        dataset[2]


# --------------------------------------------------------------------- Flickr30k
def test_flickr_grounded_caption_samples():
    dataset = DATASETS.build(dict(type='FlickrGroundedCaptionDataset', data_root=MINI))
    assert len(dataset) == 2
    sample = draw(dataset, 1, seed=0)
    assert sample['instruction'] == '[grounding] please describe this image in details'
    # The file's text as it is (no blip_caption).
    assert sample['answer'] == ('<p>A cup of coffee</p> {<15><10><80><75>} stands on '
                                '<p>a saucer</p> {<5><40><95><98>} .')
    assert sample['image_id'] == '1000268201'
    assert sample['img_path'] == osp.join(MINI, 'filtered_flickr/images/1000268201.jpg')
    assert sample['ori_shape'] == (107, 160)
    assert {instruction for instruction, _ in draws(dataset, 0, count=60)} == set(
        INSTRUCTION_POOLS['grounding'])


def test_flickr_caption_to_phrase_samples():
    dataset = DATASETS.build(dict(type='FlickrCaptionToPhraseDataset', data_root=MINI))
    assert len(dataset) == 2
    sample = dataset[1]
    assert sample['instruction'] == '[detection] An astronaut next to two flags.'
    assert sample['answer'] == ('<p>An astronaut</p> {<6><3><94><99>} <p>two flags</p> '
                                '{<70><5><99><30>}<delim>{<2><10><12><30>}')
    assert sample['img_path'] == osp.join(MINI, 'filtered_flickr/images/1000092795.jpg')
    assert sample['ori_shape'] == (160, 160)


def test_flickr_object_to_phrase_samples():
    dataset = DATASETS.build(dict(type='FlickrObjectToPhraseDataset', data_root=MINI,
                                  pipeline=[PACK]))
    assert len(dataset) == 2
    sample = dataset[0]['data_samples']
    assert sample.instruction == '[detection] two flags'
    assert sample.answer == '<p>two flags</p> {<70><5><99><30>}<delim>{<2><10><12><30>}'
    assert sample.image_id == '1000092795'
    assert dataset[1]['data_samples'].answer == '<p>a saucer</p> {<5><40><95><98>}'


FLICKR = dict(grounded=(FlickrGroundedCaptionDataset, 'groundedcaption.json'),
              caption=(FlickrCaptionToPhraseDataset, 'captiontobbox.json'),
              phrase=(FlickrObjectToPhraseDataset, 'phrasetobbox.json'))


@pytest.mark.parametrize('kind, text, message', [
    ('grounded', '', r'groundedcaption\.json:1:1: invalid JSON: Expecting value'),
    ('grounded', '[]', r'groundedcaption\.json: no entries: the dataset would be empty'),
    ('grounded', '{"image_id": "1"}',
     r'groundedcaption\.json: expected a list of entries, got dict'),
    ('grounded', '[{"image_id": "1000092795", "caption": "a"}]',
     r'groundedcaption\.json: \[0\]: missing field "grounded_caption" \(has "image_id", '
     r'"caption"\)'),
    ('caption', '[{"image_id": "1", "caption": 5, "output": "{<1><2><3><4>}"}]',
     r'captiontobbox\.json: \[0\]\.caption: expected a string, got int'),
    ('phrase', '[{"image_id": null, "phrase": "a", "bbox": "{<1><2><3><4>}"}]',
     r'phrasetobbox\.json: \[0\]\.image_id: expected a string or an integer, got NoneType'),
], ids=['empty file', 'no entry', 'not a list', 'missing field', 'caption not a string',
        'image_id null'])
def test_bad_flickr_files_name_the_file_and_entry(data_copy, kind, text, message):
    dataset_class, file = FLICKR[kind]
    (data_copy / 'filtered_flickr' / file).write_text(text)
    with pytest.raises(AnnotationFileError, match=message):
        dataset_class(data_root=str(data_copy))


@pytest.mark.parametrize('kind, entry, message', [
    ('phrase', dict(phrase='a flag', bbox='{<10><20><101><50>}'),
     r"bbox '\{<10><20><101><50>\}': box '<10><20><101><50>' is outside the 0-100 grid"),
    ('phrase', dict(phrase='a flag', bbox='{<10><20><5><50>}'), r'has its corners reversed'),
    ('phrase', dict(phrase='a flag', bbox='<p>a flag</p> {<10><20><30><50>}'),
     r"holds more than boxes: 'a flag'"),
    ('phrase', dict(phrase=' ', bbox='{<10><20><30><50>}'), r'empty phrase'),
    ('caption', dict(caption='a flag', output='<p>a flag</p> {<1><2><3>}'),
     r"output .*: malformed box '<1><2><3>'"),
    ('caption', dict(caption='a flag', output='<p>a flag</p>'),
     r"output '<p>a flag</p>' has no box"),
    ('grounded', dict(grounded_caption='<p>a flag</p> {<1><2><3><4>} and <p>a pole</p> {<5><6>'),
     r'unfinished box'),
], ids=['outside the grid', 'reversed', 'not only boxes', 'blank phrase', 'malformed box',
        'no box', 'unfinished box'])
def test_bad_flickr_box_text_names_the_entry(data_copy, kind, entry, message):
    dataset_class, file = FLICKR[kind]
    write_json(data_copy / 'filtered_flickr' / file, [dict(image_id='1000092795', **entry)])
    dataset = dataset_class(data_root=str(data_copy), **ONE_SAMPLE)
    with pytest.raises(BadSampleError,
                       match=rf"{file.replace('.', '[.]')} \(\[0\], image_id '1000092795'\): .*"
                             rf'{message}'):
        dataset[0]


def test_flickr_missing_image_names_the_entry(data_copy):
    (data_copy / 'filtered_flickr/images/1000268201.jpg').unlink()
    dataset = FlickrObjectToPhraseDataset(data_root=str(data_copy), **ONE_SAMPLE)
    with pytest.raises(BadSampleError, match=r"phrasetobbox\.json \(\[1\], image_id "
                                             r"'1000268201'\): image file not found"):
        dataset[1]
