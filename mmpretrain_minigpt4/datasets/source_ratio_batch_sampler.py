"""Several datasets mixed by ratio, one dataset per batch, as the official ``MultiIterLoader``."""
from typing import Iterator, List, Optional, Sequence

import numpy as np
from mmengine.dataset import ConcatDataset, InfiniteSampler
from mmpretrain.registry import DATA_SAMPLERS
from torch.utils.data import Sampler


@DATA_SAMPLERS.register_module()
class SourceRatioBatchSampler(Sampler):
    """Every batch comes from ONE source, drawn with probability ``ratio / sum(ratios)``.

    The dataloader's dataset is a :class:`mmengine.dataset.ConcatDataset` of
    the sources. Each source is read by its own
    :class:`mmengine.dataset.InfiniteSampler` (shuffled, sharded by rank,
    seeded by the dataloader's sampler seed), so the batches are a pure
    function of the seed: resuming (MMEngine skips the batches already
    trained) and DDP behave as with one dataset. The source draws use the same
    seed on every rank, so all ranks take a step's batch from the same source.

    Args:
        sampler (Sampler): The dataloader's sampler, built by MMEngine over the
            ``ConcatDataset``; it provides the dataset, ``shuffle`` and ``seed``.
        batch_size (int): Samples per batch and rank (the dataloader's
            ``batch_size``), for every source without its own.
        ratios (Sequence[float]): One sampling weight per source (e.g. the
            official ``sample_ratio`` 115 for LAION, 14 for CC/SBU).
        batch_sizes (Sequence[int], optional): One batch size per source, as
            the official per-dataset ``batch_size`` (MiniGPT-v2 stage 3: 6 for
            RefCOCO, 2 for LLaVA conversations, ...). Defaults to None
            (``batch_size`` for all).

    Raises:
        ValueError: If a source with a positive ratio has no samples, or a
            batch size is below 1 or not one per source.
    """

    def __init__(self, sampler: Sampler, batch_size: int, ratios: Sequence[float],
                 batch_sizes: Optional[Sequence[int]] = None):
        dataset = getattr(sampler, 'dataset', None)
        if not isinstance(dataset, ConcatDataset):
            raise TypeError('SourceRatioBatchSampler needs the dataloader dataset to be a '
                            f'ConcatDataset of the sources, got {type(dataset).__name__}.')
        if len(ratios) != len(dataset.datasets):
            raise ValueError(f'{len(ratios)} ratios for {len(dataset.datasets)} datasets.')
        if min(ratios) < 0 or sum(ratios) <= 0:
            raise ValueError(f'ratios must be non-negative with a positive sum, got {ratios}.')
        batch_sizes = [batch_size] * len(ratios) if batch_sizes is None else list(batch_sizes)
        if len(batch_sizes) != len(dataset.datasets):
            raise ValueError(f'{len(batch_sizes)} batch_sizes for {len(dataset.datasets)} '
                             'datasets.')
        for i, size in enumerate(batch_sizes):
            if isinstance(size, bool) or not isinstance(size, int) or size < 1:
                raise ValueError(f'The batch size of source {i} must be an integer of at least '
                                 f'1, got {size!r}.')
        for i, (source, ratio) in enumerate(zip(dataset.datasets, ratios)):
            # InfiniteSampler would loop forever over an empty source, without a message.
            if ratio > 0 and len(source) == 0:
                raise ValueError(f'Source {i} ({type(source).__name__}) of the ConcatDataset has '
                                 f'no samples but ratio {ratio}: give it data or ratio 0.')
        self.sampler = sampler
        self.batch_size = batch_size
        self.batch_sizes = batch_sizes
        self.probabilities = np.asarray(ratios, dtype=np.float64) / sum(ratios)
        self.seed = sampler.seed
        self.offsets = [0, *dataset.cumulative_sizes[:-1]]
        self.source_samplers = [
            InfiniteSampler(source, shuffle=getattr(sampler, 'shuffle', True),
                            seed=self.seed + i)
            for i, source in enumerate(dataset.datasets)]

    def __iter__(self) -> Iterator[List[int]]:
        sources = [iter(s) for s in self.source_samplers]
        choices = np.random.default_rng(self.seed)
        while True:
            source = choices.choice(len(sources), p=self.probabilities)
            offset = self.offsets[source]
            yield [offset + next(sources[source]) for _ in range(self.batch_sizes[source])]

    def __len__(self) -> int:
        """Batches in one pass over this rank's share of all sources."""
        return sum(len(s) // size for s, size in zip(self.source_samplers, self.batch_sizes))
