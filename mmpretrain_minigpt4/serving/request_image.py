"""A request's ``image_url`` -> the image, decoded as in training, within the server's limits.

The server is offline by design: an image comes in the request as a ``data:``
URL (base64 JPEG, PNG or WebP); ``http(s)`` URLs are refused, and local files
(``file://`` URLs) only under the directory the server was started with
(``--image-dir``). The size in pixels is read from the image header and
checked before the image is decoded; decoding is the plugin's one decoder
(:func:`~..datasets.image_decoding.decode_image`: PIL, ``convert('RGB')``),
so a file gives the same pixels as in training and evaluation.
"""
import base64
import binascii
import io
import os
import os.path as osp
import re
from dataclasses import dataclass
from typing import Optional, Tuple
from urllib.parse import unquote, urlparse

import numpy as np
from PIL import Image, UnidentifiedImageError

from ..datasets.image_decoding import UnreadableImageError, decode_image
from .errors import RequestError

IMAGE_FORMATS = ('JPEG', 'PNG', 'WEBP')
DATA_URL = re.compile(r'data:(?P<media_type>[^;,]*)(?P<parameters>(?:;[^;,]*)*),(?P<data>.*)',
                      re.DOTALL)


@dataclass(frozen=True)
class ImageLimits:
    """What the server accepts as an image.

    Args:
        max_pixels (int): Width x height at most.
        max_file_bytes (int): Size of a local file at most (a data URL is
            bounded by the request size).
        image_dir (str, optional): The directory ``file://`` URLs may point
            into; None refuses local files.
    """
    max_pixels: int
    max_file_bytes: int
    image_dir: Optional[str] = None


def read_request_image(url: str, param: str, limits: ImageLimits) -> np.ndarray:
    """Decode the image of ``url`` -> (H, W, 3) uint8 BGR.

    Raises:
        RequestError: Naming ``param``: a remote or malformed URL, bad
            base64, a file outside ``image_dir``, data that is not a JPEG,
            PNG or WebP image, or more pixels than ``limits.max_pixels``.
    """
    data, source = _image_bytes(url, param, limits)
    try:
        with Image.open(io.BytesIO(data)) as image:
            image_format, (width, height) = image.format, image.size
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, SyntaxError,
            ValueError) as error:
        raise RequestError(f'{source} is not an image ({error}).', param=param,
                           code='invalid_image') from None
    if image_format not in IMAGE_FORMATS:
        raise RequestError(f'{source} is a {image_format} image; send JPEG, PNG or WebP.',
                           param=param, code='invalid_image')
    if width * height > limits.max_pixels:
        raise RequestError(
            f'{source} has {width} x {height} = {width * height} pixels, more than this '
            f"server's limit of {limits.max_pixels} (--max-image-pixels); send a smaller image "
            '(MiniGPT-4 sees it at 224 x 224).', param=param, code='image_too_large')
    try:
        return decode_image(data, source)
    except UnreadableImageError as error:
        raise RequestError(f'{source} cannot be decoded: {error.reason}.', param=param,
                           code='invalid_image') from None


def _image_bytes(url: str, param: str, limits: ImageLimits) -> Tuple[bytes, str]:
    """The encoded image and a name for messages."""
    scheme = url.split(':', 1)[0].lower() if ':' in url else ''
    if scheme == 'data':
        return _data_url_bytes(url, param), 'The data URL image'
    if scheme in ('http', 'https'):
        raise RequestError('Remote image URLs are not fetched (this server is offline by '
                           'design); send the image as a data: URL '
                           '(data:image/jpeg;base64,...).', param=param,
                           code='remote_image_refused')
    if scheme == 'file':
        return _local_file_bytes(url, param, limits)
    raise RequestError('An image URL must be a data: URL (data:image/png;base64,...) or a '
                       'file:// URL under the --image-dir of the server.', param=param,
                       code='invalid_image_url')


def _data_url_bytes(url: str, param: str) -> bytes:
    match = DATA_URL.fullmatch(url)
    if match is None or ';base64' not in match['parameters'].lower():
        raise RequestError('A data URL must hold base64 data: data:image/png;base64,....',
                           param=param, code='invalid_image_url')
    media_type = match['media_type'].lower()
    if not media_type.startswith('image/'):
        raise RequestError(f'The data URL has media type {media_type!r}; send an image '
                           '(image/jpeg, image/png or image/webp).', param=param,
                           code='invalid_image')
    try:
        return base64.b64decode(''.join(match['data'].split()), validate=True)
    except (binascii.Error, ValueError) as error:
        raise RequestError(f'The data URL is not valid base64 ({error}).', param=param,
                           code='invalid_base64') from None


def _local_file_bytes(url: str, param: str, limits: ImageLimits) -> Tuple[bytes, str]:
    if limits.image_dir is None:
        raise RequestError('Local image files are refused: the server reads files only under '
                           'a directory given with --image-dir; send a data: URL.',
                           param=param, code='local_image_refused')
    parsed = urlparse(url)
    if parsed.netloc not in ('', 'localhost'):
        raise RequestError(f'A file URL must name a local path (file:///...), got host '
                           f'{parsed.netloc!r}.', param=param, code='invalid_image_url')
    path = osp.realpath(unquote(parsed.path))
    root = osp.realpath(limits.image_dir)
    if osp.commonpath([path, root]) != root:
        raise RequestError('The image file is outside the --image-dir of the server.',
                           param=param, code='local_image_refused')
    if not osp.isfile(path):
        raise RequestError(f'Image file not found: {osp.relpath(path, root)!r} in --image-dir.',
                           param=param, code='image_not_found')
    if os.path.getsize(path) > limits.max_file_bytes:
        raise RequestError(f'The image file is larger than {limits.max_file_bytes} bytes.',
                           param=param, code='image_too_large')
    with open(path, 'rb') as f:
        return f.read(), f'Image file {osp.relpath(path, root)!r}'
