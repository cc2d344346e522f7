"""One image decoder for training, evaluation, inference, chat and the demo: the official PIL way.

The official code opens every image with PIL and calls ``convert('RGB')``
(the ``pilrgb`` webdataset decoder, the datasets, the demo). So does this
module, for every path the plugin reads an image on, so a file gives the same
pixels everywhere: EXIF orientation is not applied (as officially), palette and
grayscale images are expanded, alpha is dropped, CMYK and 16-bit images are
converted by PIL's rules. OpenCV (mmcv's default ``LoadImageFromFile``) differs
on several of these (it applies EXIF orientation and scales 16-bit values).

Arrays given by a program (BGR, mmcv's convention) are checked for dtype,
shape and size instead of being decoded.
"""
import io
import os.path as osp
from pathlib import Path
from typing import Union

import numpy as np
from PIL import Image, UnidentifiedImageError

ImageInput = Union[str, Path, np.ndarray, Image.Image]


class UnreadableImageError(ValueError):
    """Bytes, a file or an array that is not a usable image; the message names it.

    Args:
        reason (str): What is wrong.
        source (str): The file (and key), or what the array is.
    """

    def __init__(self, reason: str, source: str):
        self.reason = reason
        self.source = source
        super().__init__(f'{source}: {reason}')


def pil_to_bgr(image: Image.Image) -> np.ndarray:
    """A PIL image of any mode -> (H, W, 3) uint8 BGR, through ``convert('RGB')``."""
    return np.ascontiguousarray(np.asarray(image.convert('RGB'))[..., ::-1])


def decode_image(data: bytes, source: str) -> np.ndarray:
    """Encoded image bytes (JPEG, PNG, WebP, ...) -> (H, W, 3) uint8 BGR.

    Raises:
        UnreadableImageError: If the bytes are not a complete image, or the
            image exceeds PIL's decompression-bomb limit.
    """
    try:
        with Image.open(io.BytesIO(data)) as image:
            return pil_to_bgr(image)
    except UnidentifiedImageError:
        raise UnreadableImageError('corrupt image (no image format recognised)', source) from None
    except Image.DecompressionBombError as error:
        raise UnreadableImageError(f'image too large ({error})', source) from None
    except (OSError, SyntaxError, ValueError) as error:  # PIL's errors for damaged files
        raise UnreadableImageError(f'corrupt image ({error})', source) from None


def read_image_file(path: Union[str, Path]) -> np.ndarray:
    """Decode an image file -> (H, W, 3) uint8 BGR.

    Raises:
        FileNotFoundError: If ``path`` is not a file (URLs are not fetched).
        UnreadableImageError: If the file is not an image.
    """
    path = str(path)
    if not osp.isfile(path):
        raise FileNotFoundError(f'Image file not found: {path!r}.')
    with open(path, 'rb') as f:
        data = f.read()
    return decode_image(data, path)


def check_image_array(array: np.ndarray, source: str = 'image array') -> np.ndarray:
    """A program's image array -> (H, W, 3) uint8 BGR, contiguous.

    Accepted: uint8 (H, W) grayscale, (H, W, 1), (H, W, 3) BGR and (H, W, 4)
    BGRA (alpha dropped, as ``convert('RGB')`` drops it).

    Raises:
        UnreadableImageError: For another dtype (float or 16-bit arrays must
            be scaled to 0-255 uint8 by the caller), shape or an empty image.
    """
    if array.dtype != np.uint8:
        raise UnreadableImageError(
            f'image arrays must be uint8 (0-255), got {array.dtype}; scale it first, e.g. '
            '(x * 255).round().astype(np.uint8) for floats in [0, 1]', source)
    if array.ndim == 2:
        array = array[..., None]
    if array.ndim != 3 or array.shape[2] not in (1, 3, 4):
        raise UnreadableImageError(
            f'image arrays must be (H, W), (H, W, 1), (H, W, 3) BGR or (H, W, 4) BGRA, got '
            f'shape {array.shape}', source)
    height, width = array.shape[:2]
    if height == 0 or width == 0:
        raise UnreadableImageError(f'empty image (shape {array.shape})', source)
    if height * width > 2 * Image.MAX_IMAGE_PIXELS:
        raise UnreadableImageError(f'image too large ({height} x {width} pixels; PIL refuses '
                                   f'more than {2 * Image.MAX_IMAGE_PIXELS})', source)
    if array.shape[2] == 1:
        array = np.repeat(array, 3, axis=2)
    return np.ascontiguousarray(array[..., :3])


def read_image(image: ImageInput) -> np.ndarray:
    """A path, a PIL image (any mode) or a BGR array -> (H, W, 3) uint8 BGR.

    Raises:
        FileNotFoundError: If a path does not exist.
        UnreadableImageError: If a file is not an image, or an array is not a
            usable image.
        TypeError: For any other input.
    """
    if isinstance(image, (str, Path)):
        return read_image_file(image)
    if isinstance(image, Image.Image):
        return pil_to_bgr(image)
    if isinstance(image, np.ndarray):
        return check_image_array(image)
    raise TypeError(f'An image must be a path, a PIL image or a numpy array, got '
                    f'{type(image).__name__}.')
