"""Shared fixtures: the tiny MiniGPT-4 from its config, real photos from scikit-image,
and the repository's scripts as modules."""
import importlib.util
import os.path as osp

import mmpretrain_minigpt4  # noqa: F401  (applies the compat fixes, registers modules)
import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmpretrain.registry import MODELS

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
TINY_MODEL_CONFIG = osp.join(REPO_ROOT, 'configs/minigpt4/_base_/models/minigpt4_tiny.py')


def load_script(relative_path: str):
    """Import a script of the repository (``tools/train.py``, ...) as a module."""
    path = osp.join(REPO_ROOT, relative_path)
    name = osp.splitext(relative_path)[0].replace('/', '_')
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def build_tiny_model(seed: int = 0, **overrides):
    """The tiny MiniGPT-4 with seeded random weights; ``overrides`` update ``model``."""
    cfg = Config.fromfile(TINY_MODEL_CONFIG)
    cfg.model.update(overrides)
    torch.manual_seed(seed)
    return MODELS.build(cfg.model).eval()


@pytest.fixture(scope='session')
def tiny_model():
    """One shared tiny model (do not modify it in a test; build your own instead)."""
    return build_tiny_model()


@pytest.fixture(scope='session')
def tokenizer(tiny_model):
    """The real Llama-2 tokenizer (official slow/legacy semantics)."""
    return tiny_model.tokenizer


def real_photo(name: str = 'astronaut') -> np.ndarray:
    """A real RGB photo (H, W, 3) uint8 shipped with scikit-image (CC0 / public domain)."""
    from skimage import data
    return getattr(data, name)()
