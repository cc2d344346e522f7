"""The wheel setup.py builds: model names, configs and ``mmpretrain_minigpt4::`` bases without the repository."""
import os.path as osp
import shutil
import textwrap
import zipfile

from conftest import REPO_ROOT, run_python

NOT_SHIPPED = shutil.ignore_patterns('.git', '.venv*', 'build', 'dist', 'work_dirs', '*.egg-info',
                                     '__pycache__', '.pytest_cache', 'tests', 'docs')


def build_wheel(tmp_path) -> str:
    """Build the wheel from a copy of the checkout (leaves the checkout clean); its path."""
    source = tmp_path / 'source'
    shutil.copytree(REPO_ROOT, source, symlinks=True, ignore=NOT_SHIPPED)
    run_python('-m', 'pip', 'wheel', '--no-deps', '--no-build-isolation', '-q', '-w',
               str(tmp_path / 'dist'), str(source))
    wheels = list((tmp_path / 'dist').glob('mmpretrain_minigpt4-*.whl'))
    assert len(wheels) == 1, wheels
    return str(wheels[0])


def test_wheel_ships_configs_and_model_index(tmp_path):
    wheel = build_wheel(tmp_path)
    names = zipfile.ZipFile(wheel).namelist()
    assert 'mmpretrain_minigpt4_autoload.pth' in names
    assert 'mmpretrain_minigpt4/.mim/model-index.yml' in names
    for config in ('minigpt4/minigpt-4_tiny_caption.py', 'minigpt4/metafile.yml',
                   'minigpt4/_base_/models/minigpt4_vicuna-7b.py', 'minigpt4/stage2_tiny.py'):
        assert f'mmpretrain_minigpt4/.mim/configs/{config}' in names, config

    # Installed where the repository is not: a pure wheel installs by unpacking.
    site = tmp_path / 'site'
    zipfile.ZipFile(wheel).extractall(site)
    user_config = tmp_path / 'my_variant.py'
    user_config.write_text("_base_ = ['mmpretrain_minigpt4::minigpt4/stage2_tiny.py']\n"
                           'train_cfg = dict(max_iters=3)\n')
    code = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(site)!r})
        import mmpretrain_minigpt4
        from mmengine.config import Config
        from mmpretrain import ModelHub
        print(mmpretrain_minigpt4.__file__.startswith({str(site)!r}))
        print(ModelHub.get('minigpt-4_tiny_caption').config.filename)
        variant = Config.fromfile({str(user_config)!r})
        print(variant.model.type, variant.train_cfg.max_iters, variant.optim_wrapper.optimizer.type)
    """)
    result = run_python('-c', code, cwd=str(tmp_path), timeout=300)
    in_site, hub_config, variant = result.stdout.split('\n')[:3]
    assert in_site == 'True'
    assert hub_config == osp.join(site, 'mmpretrain_minigpt4/.mim/configs/minigpt4/'
                                  'minigpt-4_tiny_caption.py')
    assert variant == 'MiniGPT4 3 AdamW'
