"""The shard index: a cache that is never a pickle, and shards that end early found when indexed."""
import json
import os.path as osp
import pickle
import re
import tarfile

import numpy as np
import pytest

from code_running_pickles import CreatesMarker
from minigpt4_mini_data import dataset_test_env, jpeg_bytes, mmengine_log, write_tar  # noqa: F401

from mmpretrain_minigpt4.datasets import ImageTextShardDataset, webdataset_index
from mmpretrain_minigpt4.datasets.image_text_shard_dataset import default_index_cache_dir

pytestmark = pytest.mark.usefixtures('dataset_test_env')


@pytest.fixture
def shards(tmp_path):
    """Two shards of one sample each; returns their folder."""
    folder = tmp_path / 'shards'
    write_tar(str(folder / '00000.tar'), {'a.jpg': jpeg_bytes(size=(8, 8)), 'a.txt': b'first'})
    write_tar(str(folder / '00001.tar'), {'b.jpg': jpeg_bytes(size=(8, 8)), 'b.txt': b'second'})
    return folder


@pytest.fixture
def scanned(monkeypatch):
    """The names of the shards scan_shard reads, in order."""
    names = []
    real_scan = webdataset_index.scan_shard
    monkeypatch.setattr(webdataset_index, 'scan_shard',
                        lambda path: names.append(osp.basename(path)) or real_scan(path))
    return names


def captions(dataset):
    return [dataset[i]['gt_caption'] for i in range(len(dataset))]


def test_cache_is_an_npz_of_plain_arrays_and_json_metadata(shards, capsys):
    dataset = ImageTextShardDataset('*.tar', str(shards))
    assert 'Indexing shards: 100%' in capsys.readouterr().err  # the progress bar
    assert dataset.index_file.endswith('.npz')
    with np.load(dataset.index_file, allow_pickle=False) as cache:
        assert sorted(cache.files) == sorted(['metadata', *webdataset_index.INDEX_DTYPES])
        assert cache['key'].tolist() == [b'a', b'b']
        metadata = json.loads(cache['metadata'].item())
    assert metadata['version'] == webdataset_index.INDEX_VERSION
    assert [(s['path'], s['count']) for s in metadata['shards']] == [
        (str(shards / '00000.tar'), 1), (str(shards / '00001.tar'), 1)]
    assert metadata['shards'][0]['fingerprint'][0] == osp.getsize(shards / '00000.tar')


@pytest.mark.parametrize('suffix', ['.pkl', '.npz'], ids=['old cache name', 'new cache name'])
def test_a_pickle_in_the_cache_directory_runs_no_code(shards, tmp_path, scanned, suffix):
    patterns = [str(shards / '*.tar')]
    index_file = webdataset_index.default_index_file(patterns, default_index_cache_dir())
    planted = osp.splitext(index_file)[0] + suffix
    marker = tmp_path / 'code-ran'
    (tmp_path / 'cache' / 'mmpretrain_minigpt4' / 'webdataset_index').mkdir(parents=True)
    with open(planted, 'wb') as f:
        pickle.dump(dict(version=2, shards=CreatesMarker(str(marker))), f)

    dataset = ImageTextShardDataset('*.tar', str(shards))
    assert not marker.exists()
    assert captions(dataset) == ['first', 'second']
    assert scanned == ['00000.tar', '00001.tar']  # the planted file is not an index
    with np.load(index_file, allow_pickle=False) as cache:  # rebuilt as an npz
        assert cache['key'].tolist() == [b'a', b'b']


def rewrite_cache(index_file, **changes):
    """The cache with some arrays replaced, or ``metadata`` updated."""
    with np.load(index_file, allow_pickle=False) as cache:
        arrays = dict(cache)
    metadata = dict(json.loads(arrays.pop('metadata').item()), **changes.pop('metadata', {}))
    arrays.update(changes)
    with open(index_file, 'wb') as f:
        np.savez(f, metadata=np.array(json.dumps(metadata).encode()), **arrays)


def damage(index_file, kind):
    if kind == 'garbage':
        with open(index_file, 'wb') as f:
            f.write(b'not an npz file' * 10)
    elif kind == 'cut in half':
        with open(index_file, 'rb') as f:
            data = f.read()
        with open(index_file, 'wb') as f:
            f.write(data[:len(data) // 2])
    elif kind == 'counts not matching the arrays':
        with np.load(index_file, allow_pickle=False) as cache:
            shards = json.loads(cache['metadata'].item())['shards']
        rewrite_cache(index_file, metadata=dict(shards=[dict(s, count=2) for s in shards]))
    elif kind == 'other version':
        rewrite_cache(index_file, metadata=dict(version=2))
    elif kind == 'wrong array type':
        rewrite_cache(index_file, image_offset=np.array([0.5, 1.5]))
    elif kind == 'pickled object array':
        rewrite_cache(index_file, key=np.array([b'a', 'b'], dtype=object))


@pytest.mark.parametrize('kind', ['garbage', 'cut in half', 'counts not matching the arrays',
                                  'other version', 'wrong array type', 'pickled object array'])
def test_a_damaged_cache_is_rebuilt_not_trusted(shards, scanned, kind):
    index_file = ImageTextShardDataset('*.tar', str(shards)).index_file
    damage(index_file, kind)
    scanned.clear()
    assert captions(ImageTextShardDataset('*.tar', str(shards))) == ['first', 'second']
    assert scanned == ['00000.tar', '00001.tar']
    scanned.clear()
    assert captions(ImageTextShardDataset('*.tar', str(shards))) == ['first', 'second']
    assert scanned == []  # the rebuilt cache is used


def test_a_removed_shard_leaves_the_cache_without_a_rescan(shards, scanned):
    ImageTextShardDataset('*.tar', str(shards))
    (shards / '00001.tar').unlink()
    scanned.clear()
    dataset = ImageTextShardDataset('*.tar', str(shards))
    assert captions(dataset) == ['first'] and scanned == []
    with np.load(dataset.index_file, allow_pickle=False) as cache:
        assert [s['path'] for s in json.loads(cache['metadata'].item())['shards']] == [
            str(shards / '00000.tar')]


def member_ranges(path):
    """``{name: (header offset, data offset, data end)}`` of a tar file."""
    with tarfile.open(path) as archive:
        return {m.name: (m.offset, m.offset_data, m.offset_data + m.size) for m in archive}


@pytest.fixture
def shard(tmp_path):
    path = tmp_path / '00000.tar'
    write_tar(str(path), {'k1.txt': b'a caption', 'k1.jpg': jpeg_bytes(size=(8, 8))})
    return path


def cut(path, size):
    path.write_bytes(path.read_bytes()[:size])


@pytest.mark.parametrize('on_bad_sample', ['error', 'skip'])
def test_shard_cut_inside_a_member_names_shard_and_member(shard, on_bad_sample):
    _, data_start, data_end = member_ranges(shard)['k1.jpg']
    cut(shard, data_start + 100)
    with pytest.raises(ValueError, match=rf"^{re.escape(str(shard))} is truncated: member 'k1\.jpg' needs bytes up "
                                         rf'to {data_end}, the file has {data_start + 100}\.$'):
        ImageTextShardDataset('*.tar', str(shard.parent), on_bad_sample=on_bad_sample)


def test_shard_cut_inside_a_header_names_shard_and_member(shard):
    header_start = member_ranges(shard)['k1.jpg'][0]
    cut(shard, header_start + 300)
    with pytest.raises(ValueError, match=rf"^{re.escape(str(shard))} is truncated: the header of member 'k1\.jpg' "
                                         rf"\(after member 'k1\.txt'\) needs bytes up to "
                                         rf'{header_start + 512}, the file has '
                                         rf'{header_start + 300}\.$'):
        ImageTextShardDataset('*.tar', str(shard.parent))


def test_corrupt_header_is_not_the_end_of_the_shard(shard):
    header_start = member_ranges(shard)['k1.jpg'][0]
    data = bytearray(shard.read_bytes())
    data[header_start + 148] ^= 0xFF  # the header checksum
    shard.write_bytes(bytes(data))
    with pytest.raises(ValueError, match=rf"^{re.escape(str(shard))} has a corrupt member header at byte "
                                         rf"{header_start} \(after member 'k1\.txt'\)"):
        ImageTextShardDataset('*.tar', str(shard.parent))


def test_shard_without_end_marker_is_used_with_a_warning(shard):
    _, _, data_end = member_ranges(shard)['k1.jpg']
    cut(shard, -(-data_end // 512) * 512)  # the last member with its padding, no end marker
    with mmengine_log() as log:
        dataset = ImageTextShardDataset('*.tar', str(shard.parent))
    assert captions(dataset) == ['a caption']
    assert log == [f'{shard} has no end-of-archive marker: it may have been cut between two '
                   'members. Its complete members are used.']


def test_shard_cut_inside_its_end_marker_is_complete(shard):
    _, _, data_end = member_ranges(shard)['k1.jpg']
    cut(shard, -(-data_end // 512) * 512 + 700)
    with mmengine_log() as log:
        assert captions(ImageTextShardDataset('*.tar', str(shard.parent))) == ['a caption']
    assert log == []


def test_a_bad_shard_raises_on_every_rank_after_the_barrier(shard, tmp_path, monkeypatch):
    """Rank 0 must reach the barrier, or the other ranks would wait there forever."""
    cut(shard, member_ranges(shard)['k1.jpg'][1] + 100)
    events = []
    monkeypatch.setattr(webdataset_index, 'barrier', lambda: events.append('barrier'))
    for is_main in (True, False):
        monkeypatch.setattr(webdataset_index, 'is_main_process', lambda: is_main)
        with pytest.raises(ValueError, match='is truncated'):
            webdataset_index.load_shard_index([str(shard)], str(tmp_path / 'index.npz'))
        assert events == ['barrier']
        events.clear()
