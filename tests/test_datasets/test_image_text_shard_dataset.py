"""Stage-1 pairs read straight from img2dataset webdataset shards."""
import io
import json
import os
import os.path as osp
import tarfile

import numpy as np
import pytest
import torch
from mmpretrain.registry import DATASETS
from PIL import Image

from mmpretrain_minigpt4.datasets import BadSampleError, ImageTextShardDataset
from mmpretrain_minigpt4.datasets import webdataset_index

from minigpt4_mini_data import (MINI_DATA, dataset_test_env, jpeg_bytes,  # noqa: F401
                                mini_captions, mmengine_log, write_tar)

pytestmark = pytest.mark.usefixtures('dataset_test_env')

STAGE1_PIPELINE = [
    dict(type='Resize', scale=(224, 224), keep_ratio=False, interpolation='bicubic',
         backend='pillow'),
    dict(type='BlipCaption'),
    dict(type='PackInputs', algorithm_keys=['gt_caption'],
         meta_keys=['sample_idx', 'shard', 'sample_key']),
]


def laion(**kwargs):
    return ImageTextShardDataset(
        shards='*.tar', data_root=osp.join(MINI_DATA, 'laion'), **kwargs)


def tar_member(shard, name) -> bytes:
    with tarfile.open(shard) as archive:
        return archive.extractfile(name).read()


def test_reads_every_sample_of_every_shard_in_place(mini_captions):
    dataset = laion()
    assert len(dataset) == 5  # 3 + 2 samples in laion/00000.tar and 00001.tar
    by_caption = {item['caption']: name for name, item in mini_captions.items()}
    for idx in range(len(dataset)):
        sample = dataset[idx]
        shard = sample['shard']
        assert osp.dirname(shard) == osp.join(MINI_DATA, 'laion')
        metadata = json.loads(tar_member(shard, f"{sample['sample_key']}.json"))
        assert sample['gt_caption'] == metadata['caption']
        assert mini_captions[by_caption[sample['gt_caption']]]['source'] == 'laion'
        # Same pixels as decoding the member with PIL, in BGR order.
        rgb = np.asarray(Image.open(io.BytesIO(tar_member(shard, f"{sample['sample_key']}.jpg")))
                         .convert('RGB'))
        np.testing.assert_array_equal(sample['img'], rgb[..., ::-1])
        assert sample['img_shape'] == (224, 224)
    assert [dataset.get_data_info(i)['sample_key'] for i in range(5)] == [
        '000000000', '000000001', '000000002', '000010000', '000010001']


def test_stage1_pipeline_packs_the_cleaned_caption(mini_captions):
    dataset = DATASETS.build(dict(type='ImageTextShardDataset', shards='00000.tar',
                                  data_root=osp.join(MINI_DATA, 'laion'),
                                  pipeline=STAGE1_PIPELINE))
    packed = dataset[0]
    assert packed['inputs'].shape == (3, 224, 224)
    assert packed['inputs'].dtype == torch.uint8
    sample = packed['data_samples']
    assert 'prompt' not in sample and 'instruction' not in sample
    # astronaut: "Astronaut Eileen Collins in an orange flight suit, posing with a U.S. flag & ..."
    assert sample.gt_caption == ('astronaut eileen collins in an orange flight suit, posing with a '
                             'u s flag & a space shuttle model')
    assert sample.sample_key == '000000000'


def test_txt_member_is_used_without_json(tmp_path):
    write_tar(str(tmp_path / '00000.tar'), {
        'a.jpg': jpeg_bytes(), 'a.txt': b'A cup of coffee',
        'café-noir.jpg': jpeg_bytes('chelsea'), 'café-noir.txt': b'ignored',
        'café-noir.json': b'{"caption": "A cat"}'})
    dataset = ImageTextShardDataset(shards='*.tar', data_root=str(tmp_path))
    assert [dataset[i]['gt_caption'] for i in range(2)] == ['A cup of coffee', 'A cat']
    assert dataset[1]['sample_key'] == 'café-noir'
    assert dataset[0]['img'].shape == (48, 64, 3)


def test_index_is_cached_and_only_changed_shards_are_rescanned(tmp_path, monkeypatch):
    write_tar(str(tmp_path / '00000.tar'), {'a.jpg': jpeg_bytes(), 'a.txt': b'first'})
    write_tar(str(tmp_path / '00001.tar'), {'b.jpg': jpeg_bytes(), 'b.txt': b'second'})
    scanned = []
    real_scan = webdataset_index.scan_shard
    monkeypatch.setattr(webdataset_index, 'scan_shard',
                        lambda path: scanned.append(osp.basename(path)) or real_scan(path))
    index_file = str(tmp_path / 'index.npz')

    assert len(ImageTextShardDataset('*.tar', str(tmp_path), index_file=index_file)) == 2
    assert scanned == ['00000.tar', '00001.tar']
    scanned.clear()
    assert len(ImageTextShardDataset('*.tar', str(tmp_path), index_file=index_file)) == 2
    assert scanned == []  # a restart reads the cache

    write_tar(str(tmp_path / '00002.tar'), {'c.jpg': jpeg_bytes(), 'c.txt': b'third'})
    write_tar(str(tmp_path / '00000.tar'), {'a.jpg': jpeg_bytes(), 'a.txt': b'first',
                                            'd.jpg': jpeg_bytes(), 'd.txt': b'fourth'})
    os.utime(tmp_path / '00000.tar', ns=(1, 1))  # a new mtime even within the clock's tick
    dataset = ImageTextShardDataset('*.tar', str(tmp_path), index_file=index_file)
    assert sorted(scanned) == ['00000.tar', '00002.tar']
    assert [dataset[i]['gt_caption'] for i in range(len(dataset))] == [
        'first', 'fourth', 'second', 'third']


def test_default_index_file_is_under_the_cache_dir(tmp_path):
    write_tar(str(tmp_path / 'shards' / '00000.tar'), {'a.jpg': jpeg_bytes(), 'a.txt': b'x'})
    dataset = ImageTextShardDataset('*.tar', str(tmp_path / 'shards'))
    assert dataset.index_file.startswith(str(tmp_path / 'cache' / 'mmpretrain_minigpt4'))
    assert osp.isfile(dataset.index_file)


def test_no_matching_shard_names_the_pattern(tmp_path):
    with pytest.raises(FileNotFoundError, match=r'No webdataset shard matches .*nothing-\*\.tar'):
        ImageTextShardDataset('nothing-*.tar', str(tmp_path))


def test_shards_without_samples_are_an_error_naming_them(tmp_path):
    write_tar(str(tmp_path / '00000.tar'), {})
    write_tar(str(tmp_path / '00001.tar'), {'README': b'no sample here'})
    with pytest.raises(ValueError, match=r'ImageTextShardDataset is empty: its 2 shard\(s\) hold '
                                         r'no member named \{key\}\.\{extension\}: '
                                         r'.*00000\.tar, .*00001\.tar$'):
        ImageTextShardDataset('*.tar', str(tmp_path))
    write_tar(str(tmp_path / '00002.tar'), {'a.jpg': jpeg_bytes(), 'a.txt': b'x'})
    assert len(ImageTextShardDataset('*.tar', str(tmp_path))) == 1  # empty shards among others


def test_unreadable_tar_names_the_file(tmp_path):
    (tmp_path / '00000.tar').write_bytes(b'not a tar file' * 100)
    with pytest.raises(ValueError, match=r'Cannot read the webdataset shard .*00000\.tar'):
        ImageTextShardDataset('*.tar', str(tmp_path))


BAD_SHARDS = {
    'corrupt image': ({'k1.jpg': jpeg_bytes()[:300], 'k1.txt': b'a caption'},
                      r"00000\.tar \(key 'k1'\): corrupt image"),
    'missing image': ({'k1.txt': b'a caption'},
                      r"00000\.tar \(key 'k1'\): no image member"),
    'missing text': ({'k1.jpg': jpeg_bytes()},
                     r"00000\.tar \(key 'k1'\): no text member \(json/txt\)"),
    'empty caption': ({'k1.jpg': jpeg_bytes(), 'k1.txt': b'  \n'},
                      r"00000\.tar \(member 'k1\.txt'\): empty caption"),
    'json without caption': ({'k1.jpg': jpeg_bytes(), 'k1.json': b'{"url": "x"}'},
                             r"00000\.tar \(member 'k1\.json'\): JSON has no \"caption\" field"),
    'caption empty after cleaning': ({'k1.jpg': jpeg_bytes(), 'k1.txt': b'...'},
                                     r"00000\.tar \(key 'k1'\): gt_caption '\.\.\.' is empty"),
}


@pytest.mark.parametrize('case', sorted(BAD_SHARDS))
def test_bad_sample_raises_naming_file_and_key(tmp_path, case):
    members, message = BAD_SHARDS[case]
    write_tar(str(tmp_path / '00000.tar'), members)
    dataset = ImageTextShardDataset('*.tar', str(tmp_path), pipeline=STAGE1_PIPELINE)
    with pytest.raises(BadSampleError, match=message):
        dataset[0]


def test_truncated_shard_raises_naming_file_and_key(tmp_path):
    shard = tmp_path / '00000.tar'
    write_tar(str(shard), {'k1.txt': b'a caption', 'k1.jpg': jpeg_bytes()})
    dataset = ImageTextShardDataset('*.tar', str(tmp_path))
    data = shard.read_bytes()
    shard.write_bytes(data[:1200])  # the JPEG's data starts at byte 1024
    with pytest.raises(BadSampleError, match=r"00000\.tar \(key 'k1'\): shard is truncated"):
        dataset[0]


def test_skip_mode_trains_on_good_samples_and_logs_the_count(tmp_path):
    write_tar(str(tmp_path / '00000.tar'), {
        'bad1.jpg': b'garbage', 'bad1.txt': b'a caption',
        'good.jpg': jpeg_bytes(), 'good.txt': b'A good caption',
        'bad2.jpg': jpeg_bytes()})
    dataset = ImageTextShardDataset('*.tar', str(tmp_path), on_bad_sample='skip')
    np.random.seed(0)
    with mmengine_log() as log:
        samples = [dataset[0], dataset[2], dataset[1]]
    log = '\n'.join(log)
    assert [s['sample_key'] for s in samples] == ['good', 'good', 'good']
    # Every failed attempt (a refetch may draw a bad sample again) is logged and counted.
    assert dataset.num_skipped >= 2
    assert log.count('Skipped bad sample') == dataset.num_skipped
    assert "bad1'): corrupt image (no image format recognised)" in log
    assert "bad2'): no text member (json/txt)" in log
    assert f'({dataset.num_skipped} skipped so far by this process' in log


def test_subset_arguments_are_refused_not_ignored():
    with pytest.raises(TypeError, match=r"does not support \['indices'\]"):
        ImageTextShardDataset('*.tar', osp.join(MINI_DATA, 'laion'), indices=[0])


def test_on_bad_sample_is_checked():
    with pytest.raises(ValueError, match="on_bad_sample must be one of"):
        ImageTextShardDataset('*.tar', MINI_DATA, on_bad_sample='ignore')
