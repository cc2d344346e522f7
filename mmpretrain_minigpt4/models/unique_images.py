"""Find repeated images in a batch, so the frozen encoder runs once per distinct image."""
from typing import Optional, Tuple

import torch


def unique_images(images: torch.Tensor) -> Tuple[torch.Tensor, Optional[torch.Tensor]]:
    """Distinct images of a batch and where each row's image is among them.

    VQA test sets ask several questions about one image (VQAv2 about five), and
    a batch of questions then holds the same pixels several times. Rows are
    grouped by a cheap checksum and only rows that are exactly equal are merged,
    so the result never depends on a hash collision.

    Args:
        images (B, 3, H, W): A batch.

    Returns:
        tuple: ``unique (U, 3, H, W)`` and ``inverse (B,)`` with
        ``unique[inverse] == images``; ``(images, None)`` when all rows differ.
    """
    if images.shape[0] < 2:
        return images, None
    flat = images.flatten(1)
    # Integer arithmetic on the raw bits (wrapping on overflow) is exact, so equal
    # rows always get equal checksums; float dot products may differ by row.
    bits = flat.contiguous().view(torch.uint8).view(flat.shape[0], -1)
    if bits.shape[1] % 4 == 0:
        bits = bits.view(torch.int32)
    # A strided sample of the row is enough: equal checksums are confirmed exactly.
    sample = bits[:, ::61]
    weights = torch.arange(1, sample.shape[1] + 1, device=bits.device, dtype=torch.int64)
    checksums = (sample.long() * weights).sum(1).tolist()
    first_of, inverse, unique_rows = {}, [], []
    for row, checksum in enumerate(checksums):
        match = next((u for u in first_of.get(checksum, [])
                      if torch.equal(flat[unique_rows[u]], flat[row])), None)
        if match is None:
            match = len(unique_rows)
            unique_rows.append(row)
            first_of.setdefault(checksum, []).append(match)
        inverse.append(match)
    if len(unique_rows) == len(inverse):
        return images, None
    device = images.device
    return images[torch.tensor(unique_rows, device=device)], torch.tensor(inverse, device=device)
