"""Converter outputs: written whole or not at all, never over an input, nor without force
over an earlier output."""
import os
import os.path as osp

import pytest

from mmpretrain_minigpt4.converters.output_files import (UnsafeOutputError, atomic_output,
                                                         check_output_path)


def test_file_appears_only_when_complete_and_replaces_only_with_force(tmp_path):
    out = tmp_path / 'new' / 'out.pth'
    with atomic_output(str(out)) as partial:
        assert osp.dirname(partial) == str(out.parent) and not out.exists()
        with open(partial, 'w') as f:
            f.write('first')
    assert out.read_text() == 'first' and os.listdir(out.parent) == ['out.pth']

    with pytest.raises(UnsafeOutputError, match=f'--out {out} exists: pass --force'):
        with atomic_output(str(out)) as partial:
            with open(partial, 'w') as f:
                f.write('second')
    with atomic_output(str(out), force=True) as partial:
        with open(partial, 'w') as f:
            f.write('second')
    assert out.read_text() == 'second' and os.listdir(out.parent) == ['out.pth']


@pytest.mark.parametrize('interruption', [RuntimeError, KeyboardInterrupt])
def test_an_interrupted_write_leaves_the_old_output_and_no_partial_file(tmp_path, interruption):
    out = tmp_path / 'out.pth'
    out.write_text('old')
    with pytest.raises(interruption):
        with atomic_output(str(out), force=True) as partial:
            with open(partial, 'w') as f:
                f.write('half')
            raise interruption
    assert out.read_text() == 'old' and os.listdir(tmp_path) == ['out.pth']


def test_directory_is_replaced_whole_or_kept(tmp_path):
    out = tmp_path / 'merged'
    out.mkdir()
    (out / 'old.bin').write_text('old')
    with pytest.raises(ValueError, match='half way'):
        with atomic_output(str(out), directory=True, force=True) as partial:
            (tmp_path / partial / 'config.json').write_text('{}')
            raise ValueError('half way')
    assert os.listdir(out) == ['old.bin'] and os.listdir(tmp_path) == ['merged']

    with atomic_output(str(out), directory=True, force=True) as partial:
        assert os.listdir(partial) == []
        (tmp_path / partial / 'config.json').write_text('{}')
    assert os.listdir(out) == ['config.json'] and os.listdir(tmp_path) == ['merged']


def test_an_input_is_refused_as_output_even_with_force(tmp_path):
    llm = tmp_path / 'llm'
    llm.mkdir()
    weights = llm / 'model.safetensors'
    weights.write_text('weights')
    (tmp_path / 'link.safetensors').symlink_to(weights)
    os.link(weights, tmp_path / 'hard_link.safetensors')
    inputs = {'--minigpt4': str(weights), '--blip2': None}
    for alias in (weights, tmp_path / 'llm' / '..' / 'llm' / 'model.safetensors',
                  tmp_path / 'link.safetensors', tmp_path / 'hard_link.safetensors'):
        with pytest.raises(UnsafeOutputError, match=f'--out {alias} is the --minigpt4 input: '
                           r'choose another output \(an input is never overwritten, even with '
                           r'--force\)'):
            check_output_path(str(alias), inputs, force=True)

    with pytest.raises(UnsafeOutputError, match=f'--out {llm}/merged lies inside the --llm '
                       f'directory {llm}'):
        check_output_path(str(llm / 'merged'), {'--llm': str(llm)}, force=True)
    with pytest.raises(UnsafeOutputError, match=f'--out {tmp_path} holds the --llm input {llm}: '
                       'replacing it would delete the input'):
        check_output_path(str(tmp_path), {'--llm': str(llm)}, force=True)


def test_existing_output_needs_force(tmp_path):
    out = tmp_path / 'out.pth'
    inputs = {'--eva-vit': str(tmp_path / 'missing.pth')}
    check_output_path(str(out), inputs, force=False)
    out.write_text('done')
    with pytest.raises(UnsafeOutputError, match=f'--out {out} exists: pass --force to replace'):
        check_output_path(str(out), inputs, force=False)
    check_output_path(str(out), inputs, force=True)


def test_an_output_of_the_other_kind_is_refused_even_with_force(tmp_path):
    folder, file = tmp_path / 'folder', tmp_path / 'file.pth'
    folder.mkdir()
    file.write_text('x')
    with pytest.raises(UnsafeOutputError, match='is a directory, but the output is a file'):
        check_output_path(str(folder), {}, force=True)
    with pytest.raises(UnsafeOutputError, match='is a file, but the output is a directory'):
        check_output_path(str(file), {}, force=True, directory=True)
    assert folder.is_dir() and file.read_text() == 'x'
