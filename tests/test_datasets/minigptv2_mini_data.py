"""The committed MiniGPT-v2 stage-3 mini data (tests/data/minigptv2_train) and the helpers
its dataset tests share."""
import json
import os.path as osp

import numpy as np
from mmpretrain.registry import DATASETS

from conftest import REPO_ROOT

MINI = osp.join(REPO_ROOT, 'tests/data/minigptv2_train')
COCO_IMAGES = osp.join(MINI, 'coco/images')
CAT = 'COCO_train2014_000000100011'  # chelsea, 160 x 106
CUP = 'COCO_train2014_000000100012'  # coffee, 160 x 107
CAT_FILE = osp.join(COCO_IMAGES, f'{CAT}.jpg')
CUP_FILE = osp.join(COCO_IMAGES, f'{CUP}.jpg')
PACK = dict(type='PackInputs', algorithm_keys=['instruction', 'answer'],
            meta_keys=['image_id', 'img_path'])


def write_json(path, content):
    """``content`` (JSON data, or a string written as it is) into the file ``path`` (a
    ``pathlib.Path``), creating its folder; the path as a string."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    return str(path)


def from_json(cls, folder, content, **kwargs):
    """The dataset ``cls`` of the annotation file ``folder/a.json`` holding ``content``
    (``data_root`` is ``folder``)."""
    write_json(folder / 'a.json', content)
    return cls(data_root=str(folder), ann_file='a.json', **kwargs)


def load_packed(cfg, idx, size, pack=PACK):
    """Sample ``idx`` of the dataset built from ``cfg`` with the pipeline MiniGPT-v2
    trains with (bicubic resize to ``size`` x ``size``, then ``pack``), numpy's RNG
    seeded with 0: ``(inputs, data_sample)``."""
    dataset = DATASETS.build(dict(cfg, pipeline=[
        dict(type='Resize', scale=(size, size), keep_ratio=False, interpolation='bicubic',
             backend='pillow'), pack]))
    np.random.seed(0)
    packed = dataset[idx]
    return packed['inputs'], packed['data_samples']
