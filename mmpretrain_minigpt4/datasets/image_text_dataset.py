"""The base of the MiniGPT-4 image-text datasets: one loading path and one bad-data policy."""
import logging
from typing import Any, Optional

import numpy as np
from mmengine.dataset import BaseDataset
from mmengine.logging import print_log

from .image_decoding import UnreadableImageError
from .image_decoding import decode_image as decode_image_bytes

BAD_SAMPLE_POLICIES = ('error', 'skip')


class BadSampleError(ValueError):
    """A sample that cannot be used as it is (unreadable image, empty caption, ...).

    Args:
        reason (str): What is wrong.
        location (str, optional): The file and key of the sample, added by the
            dataset when the error is raised where the sample is unknown
            (e.g. in a transform).
    """

    def __init__(self, reason: str, location: Optional[str] = None):
        self.reason = reason
        self.location = location
        super().__init__(f'{location}: {reason}' if location else reason)


def decode_image(data: bytes, location: str) -> np.ndarray:
    """Decode a sample's image bytes with the one image decoder
    (:func:`~mmpretrain_minigpt4.datasets.image_decoding.decode_image`).

    Returns:
        np.ndarray: (H, W, 3) uint8 in BGR order (mmcv's convention; the data
        preprocessor's ``to_rgb`` turns it back).

    Raises:
        BadSampleError: If the bytes are not a complete image.
    """
    try:
        return decode_image_bytes(data, location)
    except UnreadableImageError as error:
        raise BadSampleError(error.reason, location) from None


def check_caption(caption: Any, location: str) -> str:
    """The caption as a non-empty string, else :class:`BadSampleError`."""
    if not isinstance(caption, str):
        raise BadSampleError(f'caption is {type(caption).__name__}, not a string', location)
    if not caption.strip():
        raise BadSampleError('empty caption', location)
    return caption


class ImageTextDataset(BaseDataset):
    """Image-caption pairs whose bad samples raise an error or are skipped.

    Subclasses index their samples (``get_data_info``) and implement
    :meth:`load_sample` (decode the image into ``img``, check the caption in
    ``gt_caption``) and :meth:`sample_location`. Errors of the pipeline's
    transforms that are :class:`BadSampleError` get the sample's location too.

    Args:
        on_bad_sample (str): ``'error'`` (default): raise
            :class:`BadSampleError` naming the file and key. ``'skip'``: log a
            warning with the reason and the number of samples skipped so far
            by this process, and train on another random sample instead
            (MMEngine's refetch; not in ``test_mode``).
        **kwargs: :class:`mmengine.dataset.BaseDataset` arguments.
    """

    def __init__(self, *args, on_bad_sample: str = 'error', **kwargs):
        if on_bad_sample not in BAD_SAMPLE_POLICIES:
            raise ValueError(f'on_bad_sample must be one of {BAD_SAMPLE_POLICIES}, '
                             f'got {on_bad_sample!r}.')
        self.on_bad_sample = on_bad_sample
        self.num_skipped = 0
        super().__init__(*args, **kwargs)

    def sample_location(self, data_info: dict) -> str:
        """File and key of a sample, for messages."""
        raise NotImplementedError

    def load_sample(self, data_info: dict) -> dict:
        """Add the decoded ``img`` (H, W, 3) BGR uint8 and the checked ``gt_caption``."""
        raise NotImplementedError

    def prepare_data(self, idx: int) -> Optional[dict]:
        """Load the sample and run the pipeline; None when a bad sample is skipped."""
        data_info = self.get_data_info(idx)
        try:
            return self.pipeline(self.load_sample(data_info))
        except BadSampleError as error:
            if error.location is None:
                error = BadSampleError(error.reason, self.sample_location(data_info))
            if self.on_bad_sample == 'error':
                raise error from None
            self.num_skipped += 1
            print_log(f'Skipped bad sample {error} ({self.num_skipped} skipped so far by '
                      f'this process of {type(self).__name__}).', logger='current',
                      level=logging.WARNING)
            return None
