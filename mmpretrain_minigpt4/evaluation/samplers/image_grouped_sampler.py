"""Evaluation order that keeps the questions about one image in the same batches."""
from typing import Iterator, List, Optional

from mmengine.dist import get_dist_info
from mmpretrain.registry import DATA_SAMPLERS
from torch.utils.data import Sampler


@DATA_SAMPLERS.register_module()
class ImageGroupedSampler(Sampler):
    """Visit a test set image by image, so a batch holds several questions per image.

    :class:`~mmpretrain_minigpt4.models.MiniGPT4` encodes each distinct image
    of a batch once, so VQAv2 (about 5 questions per image) and GQA testdev
    (about 30) need far fewer ViT + Q-Former passes than in file order, with
    the same answers (batched generation equals one-by-one). Samples are
    ordered by their image's first appearance, in dataset order within an
    image; no shuffling.

    With several processes, each rank reads a contiguous part of that order
    (so an image's questions stay on one rank) and the shorter parts repeat
    their last sample once. The layout fits MMEngine's result collection
    (``mmengine.dist.collect_results``: ranks interleaved, then cut to the
    dataset size), which then drops exactly the repeats. The collected results
    are not in dataset order (grouped in one process, ranks interleaved with
    several); the metrics pair each prediction with its own sample.

    Args:
        dataset: A dataset with ``get_data_info(index)`` (any MMEngine
            ``BaseDataset``).
        image_key (str): The data-info field that names the image. Samples
            without it are treated as one image each.
        seed (int, optional): Unused (the order is fixed); MMEngine's Runner
            passes it to every sampler it builds.
    """

    def __init__(self, dataset, image_key: str = 'img_path', seed: Optional[int] = None):
        self.dataset = dataset
        self.image_key = image_key
        rank, world_size = get_dist_info()
        order = self.grouped_order()
        size = len(order)
        per_rank = -(-size // world_size)  # ceil
        num_short = per_rank * world_size - size  # the last ranks hold one sample less
        num_full = world_size - num_short
        start = rank * per_rank - max(0, rank - num_full)
        length = per_rank if rank < num_full else per_rank - 1
        self.indices = order[start:start + length]
        if length < per_rank:  # repeat the last sample (or any, if the part is empty)
            self.indices.append(self.indices[-1] if self.indices else order[0])

    def grouped_order(self) -> List[int]:
        """All dataset indices, grouped by image in order of first appearance."""
        groups = {}
        for index in range(len(self.dataset)):
            image = self.dataset.get_data_info(index).get(self.image_key, ('sample', index))
            groups.setdefault(image, []).append(index)
        return [index for group in groups.values() for index in group]

    def __iter__(self) -> Iterator[int]:
        return iter(self.indices)

    def __len__(self) -> int:
        return len(self.indices)
