"""Helpers and fixtures of the dataset tests: the committed mini data, shard writing."""
import io
import json
import os.path as osp
import logging
import shutil
from contextlib import contextmanager

import pytest
from mmengine.logging import MMLogger
from mmengine.registry import init_default_scope
from PIL import Image

from conftest import REPO_ROOT, load_script, real_photo

MINI_DATA = osp.join(REPO_ROOT, 'tests/data/minigpt4_mini')


mini_data_maker = load_script('tests/data/make_minigpt4_mini_data.py')
write_tar = mini_data_maker.write_tar


@pytest.fixture(scope='session')
def mini_captions():
    """``captions.json``'s entries, by scikit-image name."""
    with open(osp.join(MINI_DATA, 'captions.json'), encoding='utf-8') as f:
        return {item['name']: item for item in json.load(f)['images']}


@pytest.fixture
def dataset_test_env(tmp_path, monkeypatch):
    """mmpretrain's registries as under the Runner; shard indexes in this test's
    directory, never in ~/.cache. Import it as an autouse fixture."""
    init_default_scope('mmpretrain')
    monkeypatch.setenv('XDG_CACHE_HOME', str(tmp_path / 'cache'))


@pytest.fixture
def align_copy(tmp_path):
    """A writable copy of the mini cc_sbu_align."""
    target = tmp_path / 'cc_sbu_align'
    shutil.copytree(osp.join(MINI_DATA, 'cc_sbu_align'), target)
    return target


def jpeg_bytes(name: str = 'coffee', size=(64, 48)) -> bytes:
    image = Image.fromarray(real_photo(name)).convert('RGB').resize(size)
    buffer = io.BytesIO()
    image.save(buffer, format='JPEG', quality=90)
    return buffer.getvalue()


@contextmanager
def mmengine_log(level: int = logging.NOTSET):
    """Collect the messages (of ``level`` or above) MMEngine's current logger emits
    inside the block."""
    messages = []
    handler = logging.Handler(level)
    handler.emit = lambda record: messages.append(record.getMessage())
    logger = MMLogger.get_current_instance()
    logger.addHandler(handler)
    try:
        yield messages
    finally:
        logger.removeHandler(handler)
