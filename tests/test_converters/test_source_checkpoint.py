import os.path as osp

import pytest
import torch

from mmpretrain_minigpt4.converters import ConversionError, load_source_state_dict


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
    with pytest.raises(ConversionError, match=r'--blip2: .*notes.pth is not a readable torch'):
        load_source_state_dict(not_torch, '--blip2')
    no_state_dict = _save(tmp_path, dict(weights={'a': torch.ones(1)}, epoch=1), 'x.pth')
    with pytest.raises(ConversionError,
                       match=r"x.pth is neither a state dict nor holds one under 'model' or "
                       r"'state_dict'; its top-level keys: \['epoch', 'weights'\]"):
        load_source_state_dict(no_state_dict, '--minigpt4')
    non_tensor = _save(tmp_path, dict(model={'a': torch.ones(1), 'step': 3}), 'y.pth')
    with pytest.raises(ConversionError, match=r"y.pth: 'step' is a int, not a tensor"):
        load_source_state_dict(non_tensor, '--minigpt4')


class TrainingConfig:
    """Stands for a pickled object besides tensors (e.g. a runner's config)."""

    def __init__(self):
        self.lr = 1e-4


def test_files_with_pickled_objects_load_after_a_warning(tmp_path):
    path = _save(tmp_path, dict(model={'llama_proj.bias': torch.ones(2)}, config=TrainingConfig()))
    with pytest.warns(UserWarning, match='holds pickled objects besides tensors'):
        assert list(load_source_state_dict(path, '--minigpt4')) == ['llama_proj.bias']
