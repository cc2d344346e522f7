"""Shared fixtures: the tiny MiniGPT-4 from its config, real photos from scikit-image,
the repository's scripts as modules or in a fresh interpreter."""
import importlib.util
import os
import os.path as osp
import subprocess
import sys
from typing import Optional

import mmpretrain_minigpt4  # noqa: F401  (applies the compat fixes, registers modules)
import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmpretrain.registry import MODELS

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
TINY_MODEL_CONFIG = osp.join(REPO_ROOT, 'configs/minigpt4/_base_/models/minigpt4_tiny.py')
TINY_V2_MODEL_CONFIG = osp.join(REPO_ROOT, 'configs/minigpt4/_base_/models/minigptv2_tiny.py')


def load_script(relative_path: str):
    """Import a script of the repository (``tools/train.py``, ...) as a module."""
    path = osp.join(REPO_ROOT, relative_path)
    name = osp.splitext(relative_path)[0].replace('/', '_')
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_python(*args: str, env: Optional[dict] = None, cwd: str = REPO_ROOT,
               expect_success: bool = True, timeout: float = 600) -> subprocess.CompletedProcess:
    """``python ARGS`` in a fresh interpreter (``'-c', code`` or a script with its options).

    Args:
        env (dict, optional): Variables set on top of this process's environment.
        expect_success (bool): Assert exit status 0 (showing the output's tail if not),
            else assert a failure. Defaults to True.

    Returns:
        subprocess.CompletedProcess: With ``stdout`` and ``stderr`` as text.
    """
    result = subprocess.run([sys.executable, *args], capture_output=True, text=True, cwd=cwd,
                            timeout=timeout, env={**os.environ, **(env or {})})
    output = result.stdout[-3000:] + result.stderr[-5000:]
    if expect_success:
        assert result.returncode == 0, output
    else:
        assert result.returncode != 0, output
    return result


def build_tiny_model(seed: int = 0, config: str = TINY_MODEL_CONFIG, **overrides):
    """The tiny MiniGPT-4 (or ``config``, e.g. :data:`TINY_V2_MODEL_CONFIG`) with seeded
    random weights; ``overrides`` update ``model``."""
    cfg = Config.fromfile(config)
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
