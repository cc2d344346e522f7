"""The tiny model's server that the test modules share, and test images and messages.

:func:`shared_server` starts tools/serve.py once per session (in a subprocess on a
free loopback port); a test that stops its server starts its own ``ServerProcess``.
"""
import atexit
import base64
import functools
import io
import os.path as osp
import shutil
import tempfile
from typing import Optional

import numpy as np
from PIL import Image

from conftest import real_photo
from mmpretrain_minigpt4.benchmarking.server_process import ServerProcess

TINY_CONFIG = 'configs/minigpt4/minigpt-4_tiny_caption.py'
MODEL_NAME = 'minigpt-4_tiny_caption'
# Model arguments of the shared server (tools/chat.py's), also used to build the same
# model in-process: --seed 0 before building gives the same random weights.
MODEL_ARGS = [TINY_CONFIG, '--random-weights', '--greedy', '--max-new-tokens', '8']
API_KEY = 'test-key'
MAX_IMAGE_PIXELS = 300_000
MAX_REQUEST_BYTES = 1_000_000


@functools.lru_cache(maxsize=None)
def image_dir() -> str:
    """A directory with ``chelsea.jpg`` (the shared server's --image-dir)."""
    directory = tempfile.mkdtemp(prefix='minigpt4-serving-images-')
    Image.fromarray(real_photo('chelsea')).save(osp.join(directory, 'chelsea.jpg'), quality=90)
    atexit.register(shutil.rmtree, directory, ignore_errors=True)
    return directory


@functools.lru_cache(maxsize=None)
def shared_server() -> ServerProcess:
    """The session's server: batches of up to 8 (a batch waits 200 ms for company, so
    requests sent together share it), small limits for the bad-request tests, an API key."""
    server = ServerProcess(
        *MODEL_ARGS, '--seed', '0', '--max-batch-size', '8',
        '--batch-wait-ms', '200', '--max-queue-size', '256', '--max-image-pixels', str(MAX_IMAGE_PIXELS),
        '--max-request-bytes', str(MAX_REQUEST_BYTES), '--image-dir', image_dir(),
        '--api-key', API_KEY)
    atexit.register(server.terminate)
    return server


def encoded(image: np.ndarray, image_format: str = 'JPEG') -> bytes:
    """An RGB array (H, W, 3) as image file bytes."""
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, image_format, **(
        {'quality': 90} if image_format == 'JPEG' else {}))
    return buffer.getvalue()


def data_url(data: bytes, media_type: str = 'image/jpeg') -> str:
    return f'data:{media_type};base64,{base64.b64encode(data).decode()}'


@functools.lru_cache(maxsize=None)
def photo_url(name: str = 'chelsea') -> str:
    """A real photo as a JPEG data URL (the bytes of image_dir()'s file for 'chelsea')."""
    if name == 'chelsea':
        with open(osp.join(image_dir(), 'chelsea.jpg'), 'rb') as f:
            return data_url(f.read())
    return data_url(encoded(real_photo(name)))


def user_message(question: Optional[str], image_url: Optional[str] = None) -> dict:
    """A user message: the image part (if any), then the text part (if any)."""
    content = []
    if image_url is not None:
        content.append({'type': 'image_url', 'image_url': {'url': image_url}})
    if question is not None:
        content.append({'type': 'text', 'text': question})
    return {'role': 'user', 'content': content}
