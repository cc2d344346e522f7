"""The .pth autoload hook: mmpretrain's API serves MiniGPT-4 names without importing the plugin."""
import os.path as osp
import shutil

from conftest import REPO_ROOT
from test_model_hub import OUR_CONFIG, run_without_autoload


def run_with_hook(tmp_path, code: str) -> list:
    """Run ``code`` after processing the hook's .pth as site-packages does; stdout words.

    The last word says whether the autoload warned that it failed.
    """
    shutil.copy(osp.join(REPO_ROOT, 'mmpretrain_minigpt4_autoload.pth'), tmp_path)
    return run_without_autoload(f"""
        import site, sys, warnings
        site.addsitedir({str(tmp_path)!r})
        print('mmpretrain' in sys.modules or 'torch' in sys.modules)  # nothing at start-up
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter('always')
            {code}
        print(any('not loaded automatically' in str(w.message) for w in caught))
    """).split()


def test_mmpretrain_alone_gets_the_plugin(tmp_path):
    out = run_with_hook(tmp_path, "from mmpretrain import ModelHub, inference_model; "
                        "print(inference_model.__module__, 'mmpretrain_minigpt4' in sys.modules); "
                        "print(ModelHub.get('minigpt-4_vicuna-7b_caption').config.filename)")
    assert out == ['False', 'mmpretrain_minigpt4.apis.inference', 'True', OUR_CONFIG, 'False']


def test_explicit_import_with_the_hook_installed(tmp_path):
    out = run_with_hook(tmp_path, "import mmpretrain_minigpt4, mmpretrain; print("
                        "mmpretrain.inference_model is mmpretrain_minigpt4.apis.inference_model)")
    assert out == ['False', 'True', 'False']
