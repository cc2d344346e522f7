"""tools/model_converters/convert_minigpt4_weights.py end to end, as a user runs it."""
import hashlib
import os
import os.path as osp
import re

import pytest
import torch
from conftest import REPO_ROOT, TINY_MODEL_CONFIG, load_script, run_python
from fake_official_files import write_official_files
from mmengine.config import Config

from mmpretrain_minigpt4.converters import convert_minigpt4_checkpoint

SCRIPT = osp.join(REPO_ROOT, 'tools/model_converters/convert_minigpt4_weights.py')


def run_cli(*args, expect_success=True):
    return run_python(SCRIPT, '--config', TINY_MODEL_CONFIG, *args, expect_success=expect_success,
                      timeout=300)


def official_options(files: dict) -> list:
    return ['--eva-vit', files['eva_vit'], '--blip2', files['blip2'], '--minigpt4',
            files['minigpt4']]


def file_hashes(paths) -> dict:
    return {path: hashlib.sha256(open(path, 'rb').read()).hexdigest() for path in paths}


def test_cli_writes_the_verified_checkpoint_and_reports_dropped_keys(tmp_path):
    official_files = write_official_files(tmp_path)
    out = osp.join(tmp_path, 'out', 'minigpt-4_tiny.pth')
    result = run_cli(*official_options(official_files), '--out', out, '--dtype', 'float16')
    assert f"dropped from {official_files['eva_vit']}: blocks.2.norm1.weight" in result.stdout
    assert "t5_proj.weight, t5_proj.bias: BLIP-2's projection into FlanT5" in result.stdout
    assert f'saved 79 tensors to {out}' in result.stdout
    # The progress bar: a step per file read, then the check against the model.
    assert 'Converting: 100%' in result.stderr and '4/4' in result.stderr
    assert os.listdir(osp.dirname(out)) == ['minigpt-4_tiny.pth']  # no partial file left

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
    result = run_cli(*official_options(official_files), '--out', out, expect_success=False)
    assert result.returncode == 1
    assert (f"error: The files do not fit the model:\n  'llama_proj.weight' of "
            f"{official_files['minigpt4']} has shape (64, 48), but the model's "
            "'head.proj.weight' is (64, 32)") in result.stderr
    assert not osp.exists(out)


def test_cli_refuses_to_write_over_an_input_even_with_force(tmp_path):
    """The inputs are memory-mapped while read: writing over one used to truncate it (SIGBUS)."""
    official_files = write_official_files(tmp_path)
    before = file_hashes(official_files.values())
    result = run_cli(*official_options(official_files), '--out', official_files['eva_vit'],
                     '--force', expect_success=False)
    assert result.returncode == 1
    assert (f"error: --out {official_files['eva_vit']} is the --eva-vit input: choose another "
            'output (an input is never overwritten, even with --force).') in result.stderr
    assert file_hashes(official_files.values()) == before


@pytest.mark.parametrize('option', ['--blip2', '--minigpt4', '--config'])
def test_every_input_is_refused_as_output(tmp_path, option):
    official_files = write_official_files(tmp_path)
    config = tmp_path / 'config.py'
    config.write_text(f'_base_ = [{TINY_MODEL_CONFIG!r}]\n')
    paths = dict(official_files, config=str(config))
    before = file_hashes(paths.values())
    tool = load_script('tools/model_converters/convert_minigpt4_weights.py')
    target = paths[option[2:].replace('-', '_')]
    with pytest.raises(SystemExit, match=re.escape(f'error: --out {target} is the {option} input')):
        tool.main(['--config', str(config), *official_options(official_files), '--out', target,
                   '--force'])
    assert file_hashes(paths.values()) == before


def test_existing_output_is_replaced_only_with_force(tmp_path):
    official_files = write_official_files(tmp_path)
    out = tmp_path / 'minigpt-4_tiny.pth'
    out.write_bytes(b'an earlier conversion')
    tool = load_script('tools/model_converters/convert_minigpt4_weights.py')
    options = ['--config', TINY_MODEL_CONFIG, *official_options(official_files), '--out', str(out)]
    with pytest.raises(SystemExit, match=re.escape(
            f'error: --out {out} exists: pass --force to replace it.')):
        tool.main(options)
    assert out.read_bytes() == b'an earlier conversion'

    # A conversion that fails keeps the old output, --force or not.
    options.append('--force')
    with pytest.raises(SystemExit, match='error: --blip2: checkpoint file not found'):
        tool.main([*options, '--blip2', str(tmp_path / 'missing.pth')])
    assert out.read_bytes() == b'an earlier conversion'
    tool.main(options)
    assert len(torch.load(out, weights_only=True)['state_dict']) == 79
    assert sorted(os.listdir(tmp_path)) == sorted(
        [osp.basename(p) for p in official_files.values()] + [out.name])
