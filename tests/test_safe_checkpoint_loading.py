"""Untrusted checkpoint files never run code, on every path that loads one.

Each path gets a checkpoint whose unpickling would create a marker directory
(tests/code_running_pickles.py): the marker must not appear and the error must
name the file, what it needs and the opt-in. Real Runner checkpoints (message
hub, numpy) still load for resume, ``load_from`` and ``tools/test.py``.
"""
import os
import os.path as osp
import shutil

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.runner.checkpoint import CheckpointLoader
from mmpretrain.apis import get_model
from mmpretrain.registry import MODELS
from PIL import Image

from code_running_pickles import write_code_running_checkpoint
from conftest import REPO_ROOT, TINY_MODEL_CONFIG, load_script, real_photo, run_python

from mmpretrain_minigpt4.apis import Chat, inference_model
from mmpretrain_minigpt4.safe_checkpoint_loading import (TRUSTED_CHECKPOINTS_VARIABLE,
                                                         UnreadableCheckpointError,
                                                         UnsafeCheckpointError,
                                                         load_checkpoint_file)

TINY_CAPTION = osp.join(REPO_ROOT, 'configs/minigpt4/minigpt-4_tiny_caption.py')
STAGE2_TINY = osp.join(REPO_ROOT, 'configs/minigpt4/stage2_tiny.py')
TINY_GQA = osp.join(REPO_ROOT, 'configs/minigpt4/evaluation/tiny/minigpt4_tiny_gqa.py')
REFUSED = r'was not loaded: unpickling it could run code \(it needs os.makedirs.*' + \
    TRUSTED_CHECKPOINTS_VARIABLE


@pytest.fixture
def evil(tmp_path, monkeypatch):
    """(checkpoint path, marker path); the checkpoint holds the tiny model's projection."""
    monkeypatch.delenv(TRUSTED_CHECKPOINTS_VARIABLE, raising=False)
    monkeypatch.setenv('XDG_CACHE_HOME', str(tmp_path / 'cache'))
    marker = str(tmp_path / 'code-ran')
    head = {'head.proj.weight': torch.zeros(64, 32), 'head.proj.bias': torch.zeros(64)}
    path = write_code_running_checkpoint(str(tmp_path / 'evil' / 'iter_2.pth'), marker, head)
    yield path, marker
    assert not osp.exists(marker), 'the checkpoint ran code'


@pytest.fixture(scope='module')
def runner_checkpoint(tmp_path_factory):
    """A real Runner checkpoint of the tiny stage 2 (message hub, numpy, schedulers)."""
    work_dir = tmp_path_factory.mktemp('stage2')
    load_script('tools/train.py').main([
        STAGE2_TINY, '--work-dir', str(work_dir), '--cfg-options', 'train_cfg.max_iters=2',
        'default_hooks.checkpoint.interval=2', 'param_scheduler.0.end=2',
        'param_scheduler.0.warmup_iters=1'])
    return str(work_dir / 'iter_2.pth')


def test_a_runner_checkpoint_needs_the_allow_list_and_loads_with_it(runner_checkpoint):
    with pytest.raises(Exception, match='Weights only load failed'):
        torch.load(runner_checkpoint, weights_only=True)  # torch's own rules refuse it
    before = torch.serialization.get_safe_globals()
    checkpoint = load_checkpoint_file(runner_checkpoint)
    buffer = checkpoint['message_hub']['log_scalars']['train/loss']
    assert np.isfinite(buffer.mean()) and buffer.statistics('current') == buffer.current()
    # The allow-list was in force only while our loader read the file.
    assert set(torch.serialization.get_safe_globals()) == set(before)


def test_mmengine_loads_refuse_code_and_name_the_file(evil):
    path, _ = evil
    with pytest.raises(UnsafeCheckpointError, match=REFUSED) as error:
        CheckpointLoader.load_checkpoint(path)
    assert path in str(error.value)


def test_get_model_inference_model_and_chat_refuse_it(evil):
    path, _ = evil
    with pytest.raises(UnsafeCheckpointError, match=REFUSED):
        get_model(TINY_CAPTION, pretrained=path)
    with pytest.raises(UnsafeCheckpointError, match=REFUSED):
        inference_model('minigpt-4_tiny_caption', real_photo('coffee'), pretrained=path)
    with pytest.raises(UnsafeCheckpointError, match=REFUSED):
        Chat('minigpt-4_tiny_caption', pretrained=path)


def test_frozen_weights_of_init_cfg_refuse_it(evil):
    path, _ = evil
    cfg = Config.fromfile(TINY_MODEL_CONFIG)
    cfg.model.init_cfg = dict(type='Pretrained', checkpoint=path)
    model = MODELS.build(cfg.model)
    with pytest.raises(UnsafeCheckpointError, match=REFUSED):
        model.init_weights()


def test_training_load_from_and_resume_refuse_it(evil, tmp_path):
    path, _ = evil
    train = load_script('tools/train.py')
    with pytest.raises(UnsafeCheckpointError, match=REFUSED):
        train.main([STAGE2_TINY, '--work-dir', str(tmp_path / 'a'), '--cfg-options',
                    f'load_from={path}'])
    # --resume (auto) follows the work dir's last_checkpoint to the file.
    with open(osp.join(osp.dirname(path), 'last_checkpoint'), 'w') as f:
        f.write(path)
    with pytest.raises(UnsafeCheckpointError, match=REFUSED):
        train.main([STAGE2_TINY, '--work-dir', osp.dirname(path), '--resume'])


def test_test_tool_refuses_it_and_still_tests_a_runner_checkpoint(evil, runner_checkpoint,
                                                                  tmp_path):
    path, _ = evil
    test_tool = load_script('tools/test.py')
    with pytest.raises(UnsafeCheckpointError, match=REFUSED):
        test_tool.main([TINY_GQA, path, '--work-dir', str(tmp_path / 'a')])
    metrics = test_tool.main([TINY_GQA, runner_checkpoint, '--work-dir', str(tmp_path / 'b')])
    assert 0 <= metrics['GQA/acc'] <= 100


def test_chat_tool_refuses_it(evil, tmp_path):
    path, _ = evil
    image = str(tmp_path / 'coffee.png')
    Image.fromarray(real_photo('coffee')).save(image)
    with pytest.raises(UnsafeCheckpointError, match=REFUSED):
        load_script('tools/chat.py').main(['minigpt-4_tiny_caption', image, '--checkpoint', path])


def test_converter_and_lora_merge_inputs_refuse_it(evil, tmp_path):
    path, _ = evil
    convert = load_script('tools/model_converters/convert_minigpt4_weights.py')
    with pytest.raises(SystemExit, match='--eva-vit: .*' + REFUSED):
        convert.main(['--config', TINY_MODEL_CONFIG, '--eva-vit', path, '--out',
                      str(tmp_path / 'out.pth')])
    merge = load_script('tools/model_converters/merge_minigptv2_lora.py')
    llm_dir = tmp_path / 'llm'
    llm_dir.mkdir()
    with pytest.raises(SystemExit, match='--minigptv2: .*' + REFUSED):
        merge.main(['--llm', str(llm_dir), '--minigptv2', path, '--out', str(tmp_path / 'm')])
    # The LLM's own .bin weights are read by the same rules.
    write_code_running_checkpoint(str(llm_dir / 'pytorch_model.bin'), evil[1])
    minigptv2 = str(tmp_path / 'minigptv2.pth')
    lora = 'llama_model.base_model.model.model.layers.0.self_attn.q_proj.lora_{}.weight'
    torch.save(dict(model={'llama_proj.weight': torch.zeros(8, 8), lora.format('A'):
                           torch.zeros(2, 8), lora.format('B'): torch.zeros(8, 2)}), minigptv2)
    with pytest.raises(SystemExit, match='--llm: .*pytorch_model.bin ' + REFUSED):
        merge.main(['--llm', str(llm_dir), '--minigptv2', minigptv2, '--out',
                    str(tmp_path / 'm')])


def test_the_opt_in_is_per_file(evil, monkeypatch, tmp_path):
    path, marker = evil
    other = write_code_running_checkpoint(str(tmp_path / 'other.pth'), marker)
    monkeypatch.setenv(TRUSTED_CHECKPOINTS_VARIABLE, other)
    with pytest.raises(UnsafeCheckpointError):
        load_checkpoint_file(path)
    monkeypatch.setenv(TRUSTED_CHECKPOINTS_VARIABLE, os.pathsep.join([other, path]))
    assert set(load_checkpoint_file(path)['state_dict']) == {'head.proj.weight', 'head.proj.bias'}
    os.rmdir(marker)  # the user allowed it knowingly: it ran


@pytest.mark.parametrize('content, message', [
    (b'', r'is empty \(0 bytes\)'),
    (b'not a checkpoint at all', 'cannot be read as a torch checkpoint'),
])
def test_unreadable_files_name_the_file(tmp_path, content, message):
    path = tmp_path / 'bad.pth'
    path.write_bytes(content)
    with pytest.raises(UnreadableCheckpointError, match=f'load_from: {path}.*{message}'):
        load_checkpoint_file(str(path), setting='load_from')


def test_a_half_written_checkpoint_names_the_file(runner_checkpoint, tmp_path):
    with open(runner_checkpoint, 'rb') as f:
        data = f.read()
    half = tmp_path / 'half.pth'
    half.write_bytes(data[:len(data) // 2])
    with pytest.raises(UnreadableCheckpointError,
                       match=f'{half} cannot be read as a torch checkpoint.*is it complete'):
        CheckpointLoader.load_checkpoint(str(half))


def test_a_bare_import_of_mmpretrain_is_protected(evil, tmp_path):
    """The autoload hook (installed as site-packages does) imports the plugin with
    mmpretrain; its loader must refuse what mmengine alone refuses."""
    path, marker = evil
    shutil.copy(osp.join(REPO_ROOT, 'mmpretrain_minigpt4_autoload.pth'), tmp_path)
    out = run_python('-c', f"""
import site, sys
site.addsitedir({str(tmp_path)!r})
import mmpretrain
from mmengine.runner.checkpoint import CheckpointLoader
try:
    CheckpointLoader.load_checkpoint({path!r})
except Exception as error:
    print('mmpretrain_minigpt4' in sys.modules, type(error).__name__)
""").stdout
    assert out.split()[-2:] == ['True', 'UnsafeCheckpointError']
    assert not osp.exists(marker)
