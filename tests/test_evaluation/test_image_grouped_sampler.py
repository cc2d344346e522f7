"""ImageGroupedSampler: image-by-image order, and rank parts that MMEngine's collection undoes."""
import random

import pytest
from mmengine.dataset import BaseDataset
from mmpretrain.registry import DATA_SAMPLERS

from mmpretrain_minigpt4.evaluation.samplers import image_grouped_sampler
from mmpretrain_minigpt4.evaluation.samplers.image_grouped_sampler import ImageGroupedSampler


class Questions(BaseDataset):
    """A test set whose samples name only their image."""

    def __init__(self, images):
        self.images = images
        super().__init__(serialize_data=False)

    def load_data_list(self):
        return [dict(img_path=image, question=f'q{i}') for i, image in enumerate(self.images)]


def collect_like_mmengine(parts, size):
    """``mmengine.dist.collect_results``: ranks interleaved, then cut to the dataset size."""
    return [index for row in zip(*parts) for index in row][:size]


def rank_parts(monkeypatch, dataset, world_size):
    parts = []
    for rank in range(world_size):
        monkeypatch.setattr(image_grouped_sampler, 'get_dist_info', lambda: (rank, world_size))
        parts.append(list(ImageGroupedSampler(dataset)))
    return parts


def test_questions_of_an_image_come_together_in_first_appearance_order():
    dataset = Questions(['a.jpg', 'b.jpg', 'a.jpg', 'c.jpg', 'b.jpg', 'a.jpg'])
    sampler = DATA_SAMPLERS.build(dict(type='ImageGroupedSampler'),
                                  default_args=dict(dataset=dataset, seed=0))  # as the Runner
    assert list(sampler) == [0, 2, 5, 1, 4, 3] and len(sampler) == 6


def test_samples_without_an_image_are_their_own_group():
    dataset = Questions(['a.jpg', 'b.jpg', 'a.jpg'])
    sampler = ImageGroupedSampler(dataset, image_key='image_id')  # no such field
    assert list(sampler) == [0, 1, 2]


@pytest.mark.parametrize('world_size', [2, 3, 4])
@pytest.mark.parametrize('size', [1, 2, 5, 7, 12, 13])
def test_rank_parts_are_contiguous_and_collect_to_every_sample_once(monkeypatch, world_size,
                                                                    size):
    dataset = Questions([f'{random.Random(size * 7 + i).randrange(4)}.jpg' for i in range(size)])
    grouped = list(ImageGroupedSampler(dataset))
    parts = rank_parts(monkeypatch, dataset, world_size)

    per_rank = len(parts[0])
    assert per_rank == -(-size // world_size)
    assert all(len(part) == per_rank for part in parts)  # MMEngine needs equal lengths
    assert sorted(collect_like_mmengine(parts, size)) == list(range(size))
    # Each rank reads one stretch of the grouped order; the last ranks end with a repeat.
    num_short = per_rank * world_size - size
    real = [part[:-1] if rank >= world_size - num_short else part
            for rank, part in enumerate(parts)]
    assert [index for part in real for index in part] == grouped
