"""tools/model_converters/convert_minigpt4_weights.py end to end, as a user runs it."""
import os.path as osp
import subprocess
import sys

import torch
from conftest import REPO_ROOT, TINY_MODEL_CONFIG
from fake_official_files import write_official_files
from mmengine.config import Config

from mmpretrain_minigpt4.converters import convert_minigpt4_checkpoint

SCRIPT = osp.join(REPO_ROOT, 'tools/model_converters/convert_minigpt4_weights.py')


def run_cli(*args):
    return subprocess.run([sys.executable, SCRIPT, '--config', TINY_MODEL_CONFIG, *args],
                          capture_output=True, text=True, cwd=REPO_ROOT, timeout=300)


def test_cli_writes_the_verified_checkpoint_and_reports_dropped_keys(tmp_path):
    official_files = write_official_files(tmp_path)
    out = osp.join(tmp_path, 'out', 'minigpt-4_tiny.pth')
    result = run_cli('--eva-vit', official_files['eva_vit'], '--blip2', official_files['blip2'],
                     '--minigpt4', official_files['minigpt4'], '--out', out, '--dtype', 'float16')
    assert result.returncode == 0, result.stderr
    assert f"dropped from {official_files['eva_vit']}: blocks.2.norm1.weight" in result.stdout
    assert "t5_proj.weight, t5_proj.bias: BLIP-2's projection into FlanT5" in result.stdout
    assert f'saved 79 tensors to {out}' in result.stdout

    saved = torch.load(out, weights_only=True)
    expected, _ = convert_minigpt4_checkpoint(Config.fromfile(TINY_MODEL_CONFIG).model,
                                              dtype='float16', **official_files)
    assert sorted(saved['state_dict']) == sorted(expected['state_dict'])
    for key, tensor in expected['state_dict'].items():
        assert torch.equal(saved['state_dict'][key], tensor), key
    assert saved['meta']['config'] == TINY_MODEL_CONFIG
    assert saved['meta']['dtype'] == 'float16'


def test_cli_fails_naming_the_file_and_key(tmp_path):
    official_files = write_official_files(tmp_path)
    torch.save(dict(model={'llama_proj.weight': torch.zeros(64, 48),
                           'llama_proj.bias': torch.zeros(64)}), official_files['minigpt4'])
    out = osp.join(tmp_path, 'never.pth')
    result = run_cli('--eva-vit', official_files['eva_vit'], '--blip2', official_files['blip2'],
                     '--minigpt4', official_files['minigpt4'], '--out', out)
    assert result.returncode == 1
    assert (f"error: The files do not fit the model:\n  'llama_proj.weight' of "
            f"{official_files['minigpt4']} has shape (64, 48), but the model's "
            "'head.proj.weight' is (64, 32)") in result.stderr
    assert not osp.exists(out)
