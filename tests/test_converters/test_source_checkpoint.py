import os.path as osp

import pytest
import torch

from code_running_pickles import write_code_running_checkpoint
from mmpretrain_minigpt4.converters import ConversionError, load_source_state_dict
from mmpretrain_minigpt4.safe_checkpoint_loading import (UnreadableCheckpointError,
                                                         UnsafeCheckpointError)


def _save(tmp_path, obj, name='file.pth', **kwargs):
    path = osp.join(tmp_path, name)
    torch.save(obj, path, **kwargs)
    return path


@pytest.mark.parametrize('wrap', [lambda sd: sd, lambda sd: dict(model=sd, epoch=3),
                                  lambda sd: dict(state_dict=sd, meta=dict(a=1))])
def test_bare_model_and_state_dict_layouts(tmp_path, wrap):
    sd = {'a.weight': torch.randn(3, 2), 'b': torch.arange(4)}
    loaded = load_source_state_dict(_save(tmp_path, wrap(sd)), '--x')
    assert list(loaded) == ['a.weight', 'b']
    assert all(torch.equal(loaded[k], sd[k]) for k in sd)


def test_legacy_format_files_load_without_mmap(tmp_path):
    path = _save(tmp_path, {'w': torch.randn(2)}, _use_new_zipfile_serialization=False)
    assert list(load_source_state_dict(path, '--x')) == ['w']


def test_missing_file_names_the_option_and_path(tmp_path):
    path = osp.join(tmp_path, 'eva_vit_g.pth')
    with pytest.raises(FileNotFoundError,
                       match=r"--eva-vit: checkpoint file not found: .*eva_vit_g"):
        load_source_state_dict(path, '--eva-vit')


def test_malformed_files_name_the_file(tmp_path):
    not_torch = osp.join(tmp_path, 'notes.pth')
    with open(not_torch, 'w') as f:
        f.write('not a checkpoint')
    with pytest.raises(UnreadableCheckpointError,
                       match=r'--blip2: .*notes.pth cannot be read as a torch checkpoint'):
        load_source_state_dict(not_torch, '--blip2')
    no_state_dict = _save(tmp_path, dict(weights={'a': torch.ones(1)}, epoch=1), 'x.pth')
    with pytest.raises(ConversionError,
                       match=r"x.pth is neither a state dict nor holds one under 'model' or "
                       r"'state_dict'; its top-level keys: \['epoch', 'weights'\]"):
        load_source_state_dict(no_state_dict, '--minigpt4')
    non_tensor = _save(tmp_path, dict(model={'a': torch.ones(1), 'step': 3}), 'y.pth')
    with pytest.raises(ConversionError, match=r"y.pth: 'step' is a int, not a tensor"):
        load_source_state_dict(non_tensor, '--minigpt4')


@pytest.mark.parametrize('legacy_format', [False, True])
def test_files_that_would_run_code_are_refused_unless_trusted(tmp_path, monkeypatch,
                                                              legacy_format):
    marker = osp.join(tmp_path, 'ran')
    path = write_code_running_checkpoint(osp.join(tmp_path, 'v2.pth'), marker,
                                         {'llama_proj.bias': torch.ones(2)}, legacy_format)
    with pytest.raises(UnsafeCheckpointError, match=r'--minigpt4: .*v2.pth was not loaded: '
                       r'.*it needs os.makedirs.*MINIGPT4_TRUSTED_CHECKPOINTS='):
        load_source_state_dict(path, '--minigpt4')
    assert not osp.exists(marker)
    monkeypatch.setenv('MINIGPT4_TRUSTED_CHECKPOINTS', path)
    assert list(load_source_state_dict(path, '--minigpt4')) == ['llama_proj.bias']
    assert osp.isdir(marker)  # the user allowed it knowingly
