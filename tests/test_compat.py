"""The stack fixes of mmpretrain_minigpt4.compat, each checked where it matters."""
import logging
import os.path as osp

import mmpretrain
import mmpretrain_minigpt4
import pytest
import torch
from mmengine.config import Config
from mmengine.model import BaseModel
from mmengine.runner import Runner
from packaging.version import Version
from torch import nn
from torch.utils.data import Dataset

from conftest import run_python

from mmpretrain_minigpt4 import compat


def test_mmpretrain_models_import_with_todays_transformers():
    out = run_python(
        '-c', 'import mmpretrain_minigpt4, mmpretrain.models, transformers\n'
        'from mmpretrain.models.multimodal.minigpt4 import MiniGPT4 as Peer\n'
        'from mmpretrain.registry import MODELS\n'
        'print(transformers.__version__, MODELS.get("MiniGPT4").__module__, Peer.__module__)'
    ).stdout
    _, ours, peer = out.split()
    assert ours == 'mmpretrain_minigpt4.models.minigpt4'
    assert peer == 'mmpretrain.models.multimodal.minigpt4.minigpt4'


@pytest.mark.parametrize('first', [
    'from mmpretrain.registry import MODELS',
    'from mmpretrain.apis import get_model, list_models',
    'import mmpretrain',
])
def test_our_minigpt4_wins_whatever_the_import_order(first):
    out = run_python('-c', f'{first}\nimport mmpretrain_minigpt4\n'
                     'from mmpretrain.registry import MODELS\n'
                     'MODELS.import_from_location()\n'
                     'print(MODELS.get("MiniGPT4").__module__)').stdout
    assert out.strip() == 'mmpretrain_minigpt4.models.minigpt4'


def test_alias_transformers_helpers_is_idempotent():
    import transformers.modeling_utils as modeling_utils
    assert compat.alias_transformers_helpers() == []
    for name in ('apply_chunking_to_forward', 'find_pruneable_heads_and_indices',
                 'prune_linear_layer', 'GenerationMixin', 'PretrainedConfig'):
        assert hasattr(modeling_utils, name), name
    heads, index = compat._find_pruneable_heads_and_indices({1}, 3, 2, set())
    assert heads == {1} and index.tolist() == [0, 1, 4, 5]


def test_bitsandbytes_kernel_hint_is_dropped_and_other_records_kept(caplog):
    compat.quiet_bitsandbytes_kernel_hint()
    compat.quiet_bitsandbytes_kernel_hint()  # idempotent: one filter
    logger = logging.getLogger('bitsandbytes.backends.cpu.ops')
    assert sum(isinstance(f, compat._DropMessage) for f in logger.filters) == 1
    with caplog.at_level(logging.WARNING, logger=logger.name):
        logger.warning('Failed to load CPU gemm_4bit_forward from kernels-community: %s', 'x')
        logger.warning('Another bitsandbytes warning')
    assert [r.getMessage() for r in caplog.records] == ['Another bitsandbytes warning']


def test_importing_the_plugin_prints_no_bitsandbytes_hint():
    pytest.importorskip('bitsandbytes')
    result = run_python('-c', 'import mmpretrain_minigpt4, bitsandbytes')
    assert 'gemm_4bit_forward' not in result.stdout + result.stderr


def test_torchvision_imports():
    import torchvision.transforms.functional as F
    assert F.hflip(torch.arange(6.).reshape(1, 2, 3)).tolist() == [[[2., 1., 0.], [5., 4., 3.]]]


def test_package_paths_without_pkg_resources(tmp_path):
    assert compat.get_installed_path('mmpretrain') == osp.dirname(mmpretrain.__file__)
    assert compat.is_installed('mmpretrain') and not compat.is_installed('no-such-package-xyz')
    # An mmpretrain:: base config resolves (mmengine needs pkg_resources for this otherwise).
    config = tmp_path / 'cfg.py'
    config.write_text("_base_ = ['mmpretrain::_base_/default_runtime.py']\n")
    assert Config.fromfile(str(config)).default_scope == 'mmpretrain'


def test_package_paths_of_an_editable_install(tmp_path):
    # tools/setup_env.sh installs the plugin editable: its files stay in the checkout,
    # and mmpretrain_minigpt4:: bases (package/.mim/configs) resolve there.
    package_dir = osp.dirname(osp.abspath(mmpretrain_minigpt4.__file__))
    assert compat.get_installed_path('mmpretrain-minigpt4') == package_dir
    assert compat.get_installed_path('mmpretrain_minigpt4') == package_dir
    config = tmp_path / 'variant.py'
    config.write_text("_base_ = ['mmpretrain_minigpt4::minigpt4/stage2_tiny.py']\n"
                      'train_cfg = dict(max_iters=5)\n')
    variant = Config.fromfile(str(config))
    assert variant.model.type == 'MiniGPT4' and variant.train_cfg.max_iters == 5


class ToyModel(BaseModel):

    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(2, 1)

    def forward(self, inputs, data_samples=None, mode='tensor'):
        loss = (self.linear(inputs) - 1).pow(2).mean()
        return dict(loss=loss) if mode == 'loss' else [loss]


class ToyDataset(Dataset):

    def __len__(self):
        return 8

    def __getitem__(self, index):
        return dict(inputs=torch.full((2, ), float(index)))


def toy_runner(work_dir, max_iters, **kwargs):
    return Runner(
        model=ToyModel(), work_dir=str(work_dir), default_scope='mmpretrain',
        train_dataloader=dict(dataset=ToyDataset(), batch_size=2, collate_fn=dict(
            type='default_collate'), sampler=dict(type='DefaultSampler', shuffle=False)),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01)),
        train_cfg=dict(by_epoch=False, max_iters=max_iters),
        default_hooks=dict(checkpoint=dict(type='CheckpointHook', interval=2, by_epoch=False)),
        **kwargs)


def test_runner_checkpoints_resume_and_load_under_safe_torch_load(tmp_path):
    runner = toy_runner(tmp_path, 2)
    runner.train()
    checkpoint = tmp_path / 'iter_2.pth'
    if Version(torch.__version__) >= Version('2.6'):
        with pytest.raises(Exception, match='Weights only load failed'):
            torch.load(checkpoint)  # what mmengine 0.10.7 does without the fix
    resumed = toy_runner(tmp_path, 4, resume=True)
    resumed.train()
    assert resumed.iter == 4
    loaded = toy_runner(tmp_path / 'other', 2, load_from=str(checkpoint))
    loaded.load_or_resume()
    torch.testing.assert_close(loaded.model.linear.weight, runner.model.linear.weight)
