"""tools/train.py and tools/dist_train.sh on the tiny configs and the mini data (CPU, CUDA
hidden)."""
import glob
import json
import os
import os.path as osp
import socket
import subprocess
import sys

import pytest
import torch
from mmengine.config import Config

from conftest import REPO_ROOT, build_tiny_model, load_script, run_python

from mmpretrain_minigpt4.safe_checkpoint_loading import load_checkpoint_file

TRAIN = osp.join(REPO_ROOT, 'tools/train.py')
STAGE1_TINY = 'configs/minigpt4/stage1_pretrain_tiny.py'
STAGE2_TINY = 'configs/minigpt4/stage2_tiny.py'
TRAINABLE = {'head.proj.weight', 'head.proj.bias'}
# One instruction, and answers cut to 8 tokens (every mini caption is longer): each
# rank's token-mean loss then weighs samples as the global batch's does, so DDP
# (mean of per-rank gradients) and one process with the global batch agree.
# Bit-exact comparisons between processes run their CPU kernels on one thread: with
# several, a resumed process (other memory addresses for its loaded tensors) may
# sum in another order and differ in the last bits (seen about one run in three).
ONE_THREAD = dict(OMP_NUM_THREADS='1')

EQUAL_WEIGHT_SAMPLES = ['model.max_txt_len=8',
                        "train_dataloader.dataset.pipeline.1.instructions=['Describe this.']"]


def cpu_env(tmp_path, **env) -> dict:
    """The runs' environment: CUDA hidden, so that they train on the CPU whatever the
    machine (the bit-exact and DDP comparisons are of CPU runs; DDP uses gloo)."""
    return {'XDG_CACHE_HOME': str(tmp_path / 'cache'), 'CUDA_VISIBLE_DEVICES': '', **env}


def train(config, work_dir, tmp_path, *options, **env):
    return run_python(TRAIN, config, '--work-dir', str(work_dir), *options,
                      env=cpu_env(tmp_path, **env))


def checkpoint(work_dir, iteration):
    return load_checkpoint_file(osp.join(work_dir, f'iter_{iteration}.pth'), map_location='cpu')


def logged_losses(work_dir):
    """Loss of every iteration, from MMEngine's ``scalars.json``."""
    (path, ) = glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json'))
    with open(path) as f:
        records = [json.loads(line) for line in f]
    return [r['loss'] for r in sorted(records, key=lambda r: r['iter']) if 'loss' in r]


@pytest.fixture(scope='module')
def stage2_run(tmp_path_factory):
    """8 iterations of the tiny stage 2 (2 passes over the 8 mini samples)."""
    tmp_path = tmp_path_factory.mktemp('stage2')
    train(STAGE2_TINY, tmp_path / 'work', tmp_path, '--cfg-options', 'train_cfg.max_iters=8',
          **ONE_THREAD)
    return tmp_path / 'work'


def test_stage2_tiny_loss_falls(stage2_run):
    losses = logged_losses(stage2_run)
    assert len(losses) == 8
    first_pass, second_pass = losses[:4], losses[4:]  # the same 8 samples each
    assert sum(second_pass) / 4 < sum(first_pass) / 4 - 0.01
    assert losses[-1] < losses[0]


def test_checkpoints_hold_only_trainable_weights(stage2_run):
    for iteration in (4, 8):
        ckpt = checkpoint(stage2_run, iteration)
        assert set(ckpt['state_dict']) == TRAINABLE
        assert len(ckpt['optimizer']['state']) == 2  # AdamW moments of the projection only
    assert osp.getsize(osp.join(stage2_run, 'iter_8.pth')) < 200_000


def test_interrupted_run_resumes_to_the_same_weights(stage2_run, tmp_path):
    work_dir = tmp_path / 'work'
    # The same schedule (its length is the scheduler's `end`), stopped after 4 iterations.
    train(STAGE2_TINY, work_dir, tmp_path, '--cfg-options', 'train_cfg.max_iters=4', **ONE_THREAD)
    assert not osp.exists(work_dir / 'iter_8.pth')
    resumed = train(STAGE2_TINY, work_dir, tmp_path, '--resume',
                    '--cfg-options', 'train_cfg.max_iters=8', **ONE_THREAD)
    assert 'resumed epoch: 0, iter: 4' in resumed.stdout + resumed.stderr
    expected, got = checkpoint(stage2_run, 8), checkpoint(work_dir, 8)
    for key in TRAINABLE:
        assert torch.equal(got['state_dict'][key], expected['state_dict'][key]), key
    for index, state in expected['optimizer']['state'].items():
        assert torch.equal(got['optimizer']['state'][index]['exp_avg'], state['exp_avg'])


def test_stage2_starts_from_a_stage1_checkpoint_and_the_frozen_file(tmp_path):
    """As a real stage 2: frozen weights from init_cfg, the projection from load_from."""
    stage1 = tmp_path / 'stage1'
    train(STAGE1_TINY, stage1, tmp_path, '--cfg-options', 'train_cfg.max_iters=2')
    stage1_weights = checkpoint(stage1, 2)['state_dict']
    assert set(stage1_weights) == TRAINABLE
    frozen_model = build_tiny_model(seed=123, save_frozen_weights=True)
    frozen = {k: v for k, v in frozen_model.state_dict().items() if not k.startswith('head.')}
    torch.save(dict(state_dict=frozen), tmp_path / 'frozen.pth')

    stage2 = tmp_path / 'stage2'
    # lr 0: the one stage-2 step leaves the loaded projection as it is.
    result = train(STAGE2_TINY, stage2, tmp_path, '--cfg-options',
                   f'load_from={stage1}/iter_2.pth', 'optim_wrapper.optimizer.lr=0',
                   'train_cfg.max_iters=1', 'model.init_cfg.type=Pretrained',
                   f'model.init_cfg.checkpoint={tmp_path}/frozen.pth',
                   'model.save_frozen_weights=True')
    assert f'Load checkpoint from {stage1}/iter_2.pth' in result.stdout + result.stderr
    stage2_weights = checkpoint(stage2, 1)['state_dict']
    assert set(stage2_weights) == set(frozen) | TRAINABLE
    for key in TRAINABLE:
        assert torch.equal(stage2_weights[key], stage1_weights[key]), key
    for key, value in frozen.items():
        assert torch.equal(stage2_weights[key], value), key


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def test_ddp_two_cpu_processes_match_one_process_with_the_global_batch(tmp_path):
    ddp, single = tmp_path / 'ddp', tmp_path / 'single'
    options = ['train_cfg.max_iters=3', *EQUAL_WEIGHT_SAMPLES]
    launched = subprocess.run(
        ['bash', 'tools/dist_train.sh', STAGE2_TINY, '2', '--work-dir', str(ddp),
         '--cfg-options', *options], cwd=REPO_ROOT, capture_output=True, text=True, timeout=600,
        env={**os.environ, **cpu_env(tmp_path, PORT=str(free_port()), PYTHON=sys.executable,
                                     **ONE_THREAD)})
    assert launched.returncode == 0, launched.stdout[-3000:] + launched.stderr[-5000:]
    train(STAGE2_TINY, single, tmp_path, '--cfg-options', 'train_dataloader.batch_size=4',
          *options, **ONE_THREAD)
    (log, ) = glob.glob(osp.join(ddp, '*', '*.log'))
    with open(log) as f:
        env_info = f.read()
    assert 'Distributed training: True' in env_info and 'GPU number: 2' in env_info
    ddp_weights, single_weights = checkpoint(ddp, 3), checkpoint(single, 3)
    for key in TRAINABLE:
        torch.testing.assert_close(ddp_weights['state_dict'][key],
                                   single_weights['state_dict'][key], rtol=1e-5, atol=1e-6)


def test_amp_on_cpu_is_a_clear_message():
    result = run_python(TRAIN, STAGE2_TINY, '--amp', env={'CUDA_VISIBLE_DEVICES': ''},
                        expect_success=False, timeout=300)
    assert result.returncode == 2
    assert '--amp (bf16 mixed precision) needs a CUDA GPU' in result.stderr
    assert 'Traceback' not in result.stderr


def test_command_line_is_applied_to_the_config(monkeypatch):
    tool = load_script('tools/train.py')
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: True)  # as on a GPU machine
    args = tool.parse_args([
        STAGE2_TINY, '--amp', '--resume', '--cfg-options', 'train_dataloader.num_workers=0',
        'train_dataloader.persistent_workers=True'])
    cfg = tool.merge_args(Config.fromfile(osp.join(REPO_ROOT, STAGE2_TINY)), args)
    assert cfg.optim_wrapper.type == 'AmpOptimWrapper'
    assert cfg.optim_wrapper.dtype == 'bfloat16'
    assert (cfg.resume, cfg.load_from) == (True, None)
    assert cfg.work_dir == './work_dirs/stage2_tiny'
    loader = cfg.train_dataloader
    assert loader.persistent_workers is False  # torch rejects it with num_workers=0
    assert loader.pin_memory is True
    assert loader.collate_fn == dict(type='default_collate')


def test_cfg_options_win_over_the_flags():
    """As in mmpretrain's tools/train.py: --cfg-options are applied last."""
    tool = load_script('tools/train.py')
    args = tool.parse_args([
        STAGE2_TINY, '--work-dir', 'work_dirs/from_flag', '--resume', 'flag.pth',
        '--cfg-options', 'work_dir=work_dirs/from_option', 'load_from=option.pth',
        'train_dataloader.num_workers=2'])
    cfg = tool.merge_args(Config.fromfile(osp.join(REPO_ROOT, STAGE2_TINY)), args)
    assert cfg.work_dir == 'work_dirs/from_option'
    assert (cfg.resume, cfg.load_from) == (True, 'option.pth')
    # The fix-up after them sees their num_workers: the config's own value stays.
    assert cfg.train_dataloader.persistent_workers is False


def test_dataloader_defaults_keep_the_configs_values():
    tool = load_script('tools/train.py')
    cfg = Config(dict(
        train_dataloader=dict(num_workers=2, collate_fn=dict(type='pseudo_collate')),
        test_dataloader=dict(num_workers=2, persistent_workers=False)))
    tool.set_dataloader_defaults(cfg, pin_memory=False, persistent_workers=True)
    assert cfg.train_dataloader.collate_fn == dict(type='pseudo_collate')
    assert cfg.train_dataloader.persistent_workers is True
    assert cfg.test_dataloader.persistent_workers is False
    assert cfg.test_dataloader.collate_fn == dict(type='default_collate')
    assert cfg.test_dataloader.pin_memory is False
