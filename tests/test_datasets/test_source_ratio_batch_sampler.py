"""One source per batch, drawn by ratio; deterministic, sharded by rank."""
import os.path as osp
from itertools import islice

import numpy as np
import pytest
from mmengine.dataset import BaseDataset, ConcatDataset, InfiniteSampler
from mmpretrain.registry import DATA_SAMPLERS
from torch.utils.data import DataLoader

from minigpt4_mini_data import MINI_DATA, dataset_test_env  # noqa: F401

from mmpretrain_minigpt4.datasets import ImageTextShardDataset, SourceRatioBatchSampler

pytestmark = pytest.mark.usefixtures('dataset_test_env')


class Sized(BaseDataset):
    """A stand-in source: only its length matters to the samplers."""

    def __init__(self, length):
        self.length = length
        super().__init__(serialize_data=False)

    def load_data_list(self):
        return [dict(i=i) for i in range(self.length)]


def concat(*lengths):
    return ConcatDataset([Sized(n) for n in lengths], lazy_init=True)


def batches(batch_sampler, count):
    return list(islice(iter(batch_sampler), count))


def source_of(index, sizes):
    return int(np.searchsorted(np.cumsum(sizes), index, side='right'))


def test_each_batch_comes_from_one_source_with_the_official_ratio():
    sizes = (1000, 300)
    sampler = InfiniteSampler(concat(*sizes), seed=7)
    batch_sampler = DATA_SAMPLERS.build(
        dict(type='SourceRatioBatchSampler', ratios=[115, 14]),
        default_args=dict(sampler=sampler, batch_size=8))
    drawn = batches(batch_sampler, 4000)
    sources = [{source_of(i, sizes) for i in batch} for batch in drawn]
    assert all(len(s) == 1 for s in sources)
    share = np.mean([s == {0} for s in sources])
    assert abs(share - 115 / 129) < 0.015  # 3 sigma of a binomial over 4000 draws: 0.0148
    # Within a source, a full pass visits every sample once before repeating.
    first_source = [i for b in drawn if source_of(b[0], sizes) == 0 for i in b][:1000]
    assert sorted(first_source) == list(range(1000))


def test_batches_are_a_function_of_the_seed():
    def run(seed):
        return batches(SourceRatioBatchSampler(InfiniteSampler(concat(20, 30), seed=seed),
                                               batch_size=4, ratios=[1, 1]), 50)
    assert run(3) == run(3)
    assert run(3) != run(4)


def test_ranks_draw_the_same_sources_and_disjoint_samples(monkeypatch):
    def on_rank(rank):
        monkeypatch.setattr('mmengine.dataset.sampler.get_dist_info', lambda: (rank, 2))
        return batches(SourceRatioBatchSampler(InfiniteSampler(concat(40, 40), seed=0),
                                               batch_size=4, ratios=[1, 1]), 30)
    rank0, rank1 = on_rank(0), on_rank(1)
    for batch0, batch1 in zip(rank0, rank1):
        assert source_of(batch0[0], (40, 40)) == source_of(batch1[0], (40, 40))
    # The first 20 samples of source 0 on each rank split it exactly.
    first0 = [i for b in rank0 for i in b if i < 40][:20]
    first1 = [i for b in rank1 for i in b if i < 40][:20]
    assert sorted(first0 + first1) == list(range(40))


def test_needs_a_concat_dataset_and_one_ratio_per_source():
    with pytest.raises(TypeError, match='ConcatDataset'):
        SourceRatioBatchSampler(InfiniteSampler(Sized(5), seed=0), batch_size=2, ratios=[1])
    with pytest.raises(ValueError, match='2 ratios for 3 datasets'):
        SourceRatioBatchSampler(InfiniteSampler(concat(5, 5, 5), seed=0), 2, ratios=[1, 1])


def test_empty_source_with_a_positive_ratio_is_an_error_naming_it():
    with pytest.raises(ValueError, match=r'Source 1 \(Sized\) of the ConcatDataset has no samples '
                                         r'but ratio 14'):
        SourceRatioBatchSampler(InfiniteSampler(concat(5, 0), seed=0), 2, ratios=[115, 14])
    never_drawn = SourceRatioBatchSampler(InfiniteSampler(concat(5, 0), seed=0), 2, ratios=[1, 0])
    assert {i for batch in batches(never_drawn, 10) for i in batch} == set(range(5))


@pytest.mark.parametrize('batch_size', [0, -2])
def test_batch_size_must_be_positive(batch_size):
    with pytest.raises(ValueError, match=f'source 0 must be an integer of at least 1, got '
                                         f'{batch_size}'):
        SourceRatioBatchSampler(InfiniteSampler(concat(5, 5), seed=0), batch_size, ratios=[1, 1])


def test_each_source_has_its_own_batch_size():
    sizes = (60, 40, 30)
    batch_sampler = DATA_SAMPLERS.build(
        dict(type='SourceRatioBatchSampler', ratios=[1, 1, 1], batch_sizes=[6, 2, 1]),
        default_args=dict(sampler=InfiniteSampler(concat(*sizes), seed=3), batch_size=99))
    drawn = batches(batch_sampler, 300)
    for batch in drawn:
        (source, ) = {source_of(i, sizes) for i in batch}
        assert len(batch) == (6, 2, 1)[source]
    assert {source_of(b[0], sizes) for b in drawn} == {0, 1, 2}
    assert len(batch_sampler) == 60 // 6 + 40 // 2 + 30 // 1


@pytest.mark.parametrize('batch_sizes, message', [([2, 2], '2 batch_sizes for 3 datasets'),
                                                  ([2, 0, 2], 'source 1 must be an integer'),
                                                  ([2, 1.5, 2], 'source 1 must be an integer')])
def test_bad_batch_sizes_are_refused(batch_sizes, message):
    with pytest.raises(ValueError, match=message):
        SourceRatioBatchSampler(InfiniteSampler(concat(5, 5, 5), seed=0), 2, ratios=[1, 1, 1],
                                batch_sizes=batch_sizes)


def test_dataloader_over_the_mini_shards():
    dataset = ConcatDataset([
        ImageTextShardDataset('*.tar', osp.join(MINI_DATA, 'laion')),
        ImageTextShardDataset('*.tar', osp.join(MINI_DATA, 'cc_sbu'))])
    batch_sampler = SourceRatioBatchSampler(InfiniteSampler(dataset, seed=0), batch_size=2,
                                            ratios=[115, 14])
    loader = DataLoader(dataset, batch_sampler=batch_sampler, collate_fn=lambda batch: batch)
    for batch in islice(iter(loader), 6):
        assert len({osp.basename(osp.dirname(s['shard'])) for s in batch}) == 1
