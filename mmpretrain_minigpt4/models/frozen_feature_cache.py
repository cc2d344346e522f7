"""Reuse the frozen image encoder's output per image across training steps."""
from typing import Callable, Dict, List, Sequence, Tuple

import torch

CHECKSUM_TOLERANCE = 1e-4


def image_key(sample) -> str:
    """The identity of a data sample's image: its ``img_path``, else its ``image_id``.

    Raises:
        KeyError: If the sample has neither.
    """
    for field in ('img_path', 'image_id'):
        if field in sample:
            return f'{field}:{sample.get(field)}'
    raise KeyError('cache_frozen_features needs `img_path` or `image_id` in every data sample '
                   "(PackInputs keeps 'img_path' in its default meta_keys).")


class FrozenFeatureCache:
    """Frozen features (ViT -> ln_vision -> Q-Former) of every image seen, by image identity.

    Only the projection trains, so an image's frozen features never change while
    its pixels do not: with augmentation off, each image needs the ViT and
    Q-Former once per run instead of once per epoch. Every lookup compares a
    checksum of the pixels (a fixed random projection, (B,)) with the stored
    one, so a pipeline that does augment fails loudly instead of training on
    stale features. Entries live on the device they were computed on.
    """

    def __init__(self):
        self._entries: Dict[str, Tuple[torch.Tensor, torch.Tensor]] = {}
        self._probes: Dict[Tuple[int, torch.device], torch.Tensor] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def clear(self) -> None:
        """Forget every entry (the frozen weights changed)."""
        self._entries.clear()

    def pixel_checksums(self, images: torch.Tensor) -> torch.Tensor:
        """images (B, 3, H, W) -> (B,) fp32 projections on one fixed random direction."""
        flat = images.flatten(1).float()
        key = (flat.shape[1], flat.device)
        if key not in self._probes:
            generator = torch.Generator().manual_seed(0)
            probe = torch.randn(flat.shape[1], generator=generator) / flat.shape[1]**0.5
            self._probes[key] = probe.to(flat.device)
        return flat @ self._probes[key]

    def features(self, images: torch.Tensor, data_samples: Sequence,
                 encode: Callable[[torch.Tensor], torch.Tensor]) -> torch.Tensor:
        """Frozen features (B, T, C) of ``images``, encoding only those not cached yet.

        Args:
            images (B, 3, H, W): The preprocessed batch.
            data_samples (Sequence[DataSample]): With ``img_path`` or ``image_id``.
            encode: images (N, 3, H, W) -> features (N, T, C), the frozen encoder.

        Raises:
            ValueError: If a cached image's pixels changed (random augmentation).
        """
        keys: List[str] = [image_key(sample) for sample in data_samples]
        checksums = self.pixel_checksums(images)
        first_row = {}
        for row, key in enumerate(keys):
            if key not in self._entries:
                first_row.setdefault(key, row)
        if first_row:
            rows = list(first_row.values())
            computed = encode(images[torch.tensor(rows, device=images.device)])
            for key, row, feature in zip(first_row, rows, computed):
                self._entries[key] = (feature, checksums[row])
        features = torch.stack([self._entries[key][0] for key in keys])
        stored = torch.stack([self._entries[key][1] for key in keys])
        changed = ~torch.isclose(stored, checksums, rtol=CHECKSUM_TOLERANCE, atol=CHECKSUM_TOLERANCE)
        if changed.any():
            key = keys[int(changed.nonzero()[0])]
            raise ValueError(
                f'cache_frozen_features: the pixels of {key} differ from when it was cached. '
                'The cache needs a deterministic pipeline: turn random augmentation off or set '
                'model.cache_frozen_features=False.')
        return features
