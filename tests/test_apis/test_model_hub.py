"""The plugin's names in mmpretrain's ModelHub: registration order, weights from the environment."""
import os.path as osp
import re
import textwrap

import mmpretrain_minigpt4  # noqa: F401
import pytest
from mmpretrain import ModelHub, list_models

from conftest import REPO_ROOT, run_python

from mmpretrain_minigpt4.apis.model_hub import (LocalWeightsModel, register_minigpt4_models,
                                                resolve_environment_path)
from mmpretrain_minigpt4.package_files import SHIPPED_ROOT

PLUGIN_NAMES = [
    f'minigpt-4_{llm}_{task}' for llm in ('vicuna-7b', 'vicuna-13b', 'llama2-7b', 'tiny')
    for task in ('caption', 'vqa')
]
OUR_CONFIG = osp.join(SHIPPED_ROOT, 'configs/minigpt4/minigpt-4_vicuna-7b_caption.py')


# An installed autoload hook (tools/setup_env.sh installs it) would import the
# plugin with mmpretrain.apis: start without it, so the tests control the order.
WITHOUT_AUTOLOAD = """
import sys
sys.meta_path[:] = [f for f in sys.meta_path if type(f).__name__ != 'PluginAutoloader']
sys.modules.pop('mmpretrain_minigpt4_autoload', None)
"""


def run_without_autoload(code: str) -> str:
    """Run ``code`` in a fresh interpreter (import order matters) without the autoload hook;
    its stdout."""
    return run_python('-c', WITHOUT_AUTOLOAD + textwrap.dedent(code), timeout=300).stdout


def test_every_name_is_listed_with_its_task():
    assert set(PLUGIN_NAMES) <= set(list_models('minigpt-4*'))
    assert 'minigpt-4_tiny_caption' in list_models('minigpt-4*', task='Image Caption')
    assert 'minigpt-4_tiny_vqa' in list_models('minigpt-4*', task='Visual Question Answering')
    assert 'minigpt-4_tiny_vqa' not in list_models('minigpt-4*', task='Image Caption')


def test_configs_exist_and_carry_the_inference_pipeline():
    for name in PLUGIN_NAMES:
        metainfo = ModelHub.get(name)
        assert isinstance(metainfo, LocalWeightsModel)
        assert metainfo.config.filename == osp.join(SHIPPED_ROOT, 'configs/minigpt4', f'{name}.py')
        # In a checkout, the shipped configs are the repository's own (linked).
        assert osp.samefile(metainfo.config.filename,
                            osp.join(REPO_ROOT, 'configs/minigpt4', f'{name}.py'))
        pipeline = metainfo.config.test_dataloader.dataset.pipeline
        resize = [t for t in pipeline if t['type'] == 'Resize'][0]
        assert resize['scale'] == (224, 224) and resize['interpolation'] == 'bicubic'
        pack = pipeline[-1]
        assert pack['type'] == 'PackInputs'
        assert ('question' in pack.get('algorithm_keys', [])) == name.endswith('_vqa')
        assert metainfo.config.custom_imports['imports'] == ['mmpretrain_minigpt4']


def test_llm_variable_of_the_index_is_the_one_the_config_reads():
    for name in PLUGIN_NAMES:
        metainfo = ModelHub._models_dict[name]
        if 'tiny' in name:
            continue
        variable = metainfo.data['LLM Variable']
        base = {'vicuna-7b': 'minigpt4_vicuna-7b', 'vicuna-13b': 'minigpt4_vicuna-13b',
                'llama2-7b': 'minigpt4_llama2-chat-7b'}[name.split('_')[1]]
        with open(osp.join(REPO_ROOT, f'configs/minigpt4/_base_/models/{base}.py')) as f:
            assert '{{$' + variable + ':' in f.read()


def test_registering_again_replaces_instead_of_raising():
    before = ModelHub._models_dict['minigpt-4_vicuna-7b_caption']
    register_minigpt4_models()
    after = ModelHub._models_dict['minigpt-4_vicuna-7b_caption']
    assert after is not before and after.config == OUR_CONFIG


def test_environment_path_syntax(monkeypatch):
    monkeypatch.delenv('MINIGPT4_TEST_PATH', raising=False)
    assert resolve_environment_path('{{$MINIGPT4_TEST_PATH:ckpt/a.pth}}') == 'ckpt/a.pth'
    assert resolve_environment_path('{{$MINIGPT4_TEST_PATH:}}') is None
    monkeypatch.setenv('MINIGPT4_TEST_PATH', '/data/b.pth')
    assert resolve_environment_path('{{$MINIGPT4_TEST_PATH:ckpt/a.pth}}') == '/data/b.pth'
    assert resolve_environment_path('/plain/c.pth') == '/plain/c.pth'
    assert resolve_environment_path(None) is None


def test_weights_are_read_from_the_environment_at_lookup(tmp_path, monkeypatch):
    checkpoint = tmp_path / 'minigpt4.pth'
    checkpoint.write_bytes(b'')
    monkeypatch.setenv('MINIGPT4_VICUNA_13B_CKPT', str(checkpoint))
    assert ModelHub.get('minigpt-4_vicuna-13b_vqa').weights == str(checkpoint)
    monkeypatch.setenv('MINIGPT4_VICUNA_13B_CKPT', str(tmp_path / 'missing.pth'))
    message = re.escape('$MINIGPT4_VICUNA_13B_CKPT')
    with pytest.raises(FileNotFoundError, match=message) as error:
        ModelHub.get('minigpt-4_vicuna-13b_vqa').weights
    assert 'missing.pth' in str(error.value) and 'pretrained_minigpt4.pth' in str(error.value)


def test_tiny_entries_have_random_weights_unless_a_checkpoint_is_set(monkeypatch):
    monkeypatch.delenv('MINIGPT4_TINY_CKPT', raising=False)
    assert ModelHub.get('minigpt-4_tiny_caption').weights is None


def test_plugin_imported_first_then_mmpretrain_lazy_index():
    out = run_without_autoload("""
        import mmpretrain_minigpt4
        from mmpretrain import ModelHub, inference_model, list_models
        names = list_models('minigpt-4*')  # mmpretrain's lazy index loads here: must not clash
        print(ModelHub.get('minigpt-4_vicuna-7b_caption').config.filename)
        print(len(names) > 8, 'resnet50_8xb32_in1k' in list_models('resnet50*'))
        print(inference_model is mmpretrain_minigpt4.apis.inference_model)
    """)
    assert out.split() == [OUR_CONFIG, 'True', 'True', 'True']


def test_mmpretrain_index_loaded_first_then_plugin():
    out = run_without_autoload("""
        from mmpretrain.apis import ModelHub, list_models
        ModelHub._register_mmpretrain_models()
        print(ModelHub._models_dict['minigpt-4_vicuna-7b_caption'].config)
        import mmpretrain_minigpt4
        from mmpretrain import inference_model
        print(ModelHub.get('minigpt-4_vicuna-7b_caption').config.filename)
        print(inference_model is mmpretrain_minigpt4.apis.inference_model)
    """)
    theirs, ours, patched = out.split()
    assert 'site-packages' in theirs and theirs != OUR_CONFIG
    assert ours == OUR_CONFIG and patched == 'True'
