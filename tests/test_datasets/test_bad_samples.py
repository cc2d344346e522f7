"""Every kind of bad sample docs/training.md lists: 'error' names file and key, 'skip' trains on."""
import json
import logging
import re
import tarfile

import numpy as np
import pytest

from minigpt4_mini_data import dataset_test_env, jpeg_bytes, mmengine_log, write_tar  # noqa: F401

from mmpretrain_minigpt4.datasets import BadSampleError, CCSBUAlignDataset, ImageTextShardDataset

pytestmark = pytest.mark.usefixtures('dataset_test_env')

JPEG = jpeg_bytes(size=(32, 24))
TRUNCATED_JPEG = JPEG[:len(JPEG) * 2 // 3]

# The key 'bad' of a shard that also holds the key 'good':
# (its members, where the error is: key or member, the reason as a regex).
SHARD_CASES = {
    'corrupt image': ({'bad.jpg': b'\xff\xd8 not a JPEG', 'bad.txt': b'A cup'}, "key 'bad'",
                      'image'),
    'truncated image': ({'bad.jpg': TRUNCATED_JPEG, 'bad.txt': b'A cup'}, "key 'bad'", 'image'),
    'no image member': ({'bad.txt': b'A cup'}, "key 'bad'", r'^no image member'),
    'no text member': ({'bad.jpg': JPEG}, "key 'bad'", r'^no text member \(json/txt\)'),
    'empty caption': ({'bad.jpg': JPEG, 'bad.txt': b' \n'}, "member 'bad.txt'",
                      '^empty caption$'),
    'caption empty after blip_caption': ({'bad.jpg': JPEG, 'bad.txt': b'...!'}, "key 'bad'",
                                         r"^gt_caption '\.\.\.!' is empty after blip_caption$"),
    'json member without caption': ({'bad.jpg': JPEG, 'bad.json': b'{"url": "x"}'},
                                    "member 'bad.json'", '^JSON has no "caption" field$'),
    'caption not a string': ({'bad.jpg': JPEG, 'bad.json': b'{"caption": null}'},
                             "member 'bad.json'", '^caption is NoneType, not a string$'),
    'text not UTF-8': ({'bad.jpg': JPEG, 'bad.txt': b'caf\xe9'}, "member 'bad.txt'",
                       r'^text is not UTF-8 \('),
    'invalid JSON member': ({'bad.jpg': JPEG, 'bad.json': b'{"caption": '}, "member 'bad.json'",
                            r'^invalid JSON \('),
    # Found when read: the shard lost its end after it was indexed (or while training ran).
    'shard truncated after indexing': ({'bad.txt': b'A cup', 'bad.jpg': JPEG}, "key 'bad'",
                                       r'^shard is truncated \('),
}
# The image_id 'bad' of a cc_sbu_align folder that also holds 'good':
# (its caption, its image file or None, where the error is: annotation or image file, reason).
ALIGN_CASES = {
    'missing image': ('A cup', None, 'filter_cap.json',
                      r'^image file not found: .*image/bad\.jpg$'),
    'corrupt image': ('A cup', b'\xff\xd8 not a JPEG', 'image/bad.jpg', 'image'),
    'truncated image': ('A cup', TRUNCATED_JPEG, 'image/bad.jpg', 'image'),
    'empty caption': ('  ', JPEG, 'filter_cap.json', '^empty caption$'),
    'caption not a string': (7, JPEG, 'filter_cap.json', '^caption is int, not a string$'),
}
CASES = [('shard', kind) for kind in SHARD_CASES] + [('cc_sbu_align', kind) for kind in ALIGN_CASES]


def shard_datasets(root, kind):
    members, where, reason = SHARD_CASES[kind]
    shard = root / '00000.tar'
    good = {'good.jpg': JPEG, 'good.txt': b'A good caption'}
    if kind == 'shard truncated after indexing':
        write_tar(str(shard), {**good, **members})
    else:
        write_tar(str(shard), {**members, **good})
    datasets = {policy: ImageTextShardDataset('*.tar', str(root), on_bad_sample=policy,
                                              pipeline=[dict(type='BlipCaption')])
                for policy in ('error', 'skip')}
    if kind == 'shard truncated after indexing':
        with tarfile.open(shard) as archive:
            cut = archive.getmember('bad.jpg').offset_data + 10
        shard.write_bytes(shard.read_bytes()[:cut])
    dataset = datasets['error']
    bad_idx = [dataset.get_data_info(i)['sample_key'] for i in range(len(dataset))].index('bad')
    return datasets, bad_idx, f'{shard} ({where})', reason


def align_datasets(root, kind):
    caption, image, where, reason = ALIGN_CASES[kind]
    (root / 'image').mkdir()
    (root / 'image' / 'good.jpg').write_bytes(JPEG)
    if image is not None:
        (root / 'image' / 'bad.jpg').write_bytes(image)
    (root / 'filter_cap.json').write_text(json.dumps(dict(annotations=[
        dict(image_id='bad', caption=caption), dict(image_id='good', caption='A good caption')])))
    datasets = {policy: CCSBUAlignDataset(str(root), on_bad_sample=policy)
                for policy in ('error', 'skip')}
    return datasets, 0, f"{root / where} (image_id 'bad')", reason


def sample_name(sample):
    return sample.get('sample_key', sample.get('image_id'))


@pytest.mark.parametrize('source, kind', CASES, ids=[f'{s}: {k}' for s, k in CASES])
def test_bad_sample_raises_or_is_skipped(tmp_path, source, kind):
    build = shard_datasets if source == 'shard' else align_datasets
    datasets, bad_idx, location, reason = build(tmp_path, kind)

    with pytest.raises(BadSampleError) as error:
        datasets['error'][bad_idx]
    assert error.value.location == location
    assert re.search(reason, error.value.reason), error.value.reason

    np.random.seed(0)
    with mmengine_log(logging.WARNING) as warnings:
        sample = datasets['skip'][bad_idx]
    assert sample_name(sample) == 'good'
    assert sample['gt_caption'].lower() == 'a good caption'
    assert len(warnings) == datasets['skip'].num_skipped >= 1
    assert warnings[0].startswith(f'Skipped bad sample {error.value} (1 skipped so far')
