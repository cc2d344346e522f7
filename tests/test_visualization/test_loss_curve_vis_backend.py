"""LossCurveVisBackend: the logged losses drawn as a PNG, at the end and while training."""
import os.path as osp

import numpy as np
from mmengine.registry import init_default_scope
from mmpretrain.registry import VISBACKENDS
from PIL import Image


def build_backend(save_dir, **kwargs):
    init_default_scope('mmpretrain')
    return VISBACKENDS.build(dict(type='LossCurveVisBackend', save_dir=str(save_dir), **kwargs))


def test_losses_are_drawn_when_the_run_ends(tmp_path):
    backend = build_backend(tmp_path / 'vis_data')
    for step in range(1, 11):
        backend.add_scalars({'lr': 1e-3, 'loss': 10.0 / step, 'time': 0.1}, step=step)
    assert not osp.exists(backend.curve_file)  # not yet: 10 values < draw_interval
    backend.close()
    with Image.open(tmp_path / 'vis_data' / 'loss_curve.png') as picture:
        assert picture.size == (640, 400)
        pixels = np.asarray(picture.convert('RGB'))
    # matplotlib's first line colour (#1f77b4) is on the picture: the curve is drawn.
    assert ((np.abs(pixels.astype(int) - [31, 119, 180]).sum(-1)) < 30).sum() > 100


def test_an_interrupted_run_has_a_picture_every_draw_interval(tmp_path):
    backend = build_backend(tmp_path, draw_interval=5)
    for step in range(1, 5):
        backend.add_scalar('loss', 1.0, step)
    assert not osp.exists(backend.curve_file)
    backend.add_scalar('loss', 0.5, 5)
    assert osp.isfile(backend.curve_file)


def test_no_loss_no_picture(tmp_path):
    """Evaluation runs log metrics only: nothing is drawn."""
    backend = build_backend(tmp_path)
    backend.add_scalars({'coco-caption/CIDEr': 0.9}, step=1)
    backend.close()
    assert backend.draw() is None
    assert not osp.exists(backend.curve_file)
