"""FSDP and DeepSpeed through MMEngine's FlexibleRunner (configs with a ``strategy``): 2 CPU
processes (torchrun, gloo) on the tiny stage 2 against DDP, checkpoints and resume, the FSDP
units of the tiny MiniGPT-v2, the full-size strategy configs, and the errors raised before
anything is built."""
import os
import os.path as osp
import subprocess
import sys
import types

import pytest
import torch
import torch.distributed as dist
from mmengine.config import Config
from mmengine.registry import MODEL_WRAPPERS, OPTIMIZERS, STRATEGIES
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample
from torch.distributed.fsdp import FullyShardedDataParallel as FSDP

from conftest import REPO_ROOT, TINY_V2_MODEL_CONFIG, build_tiny_model, load_script
from test_train import ONE_THREAD, STAGE2_TINY, TRAINABLE, checkpoint, cpu_env, free_port

from mmpretrain_minigpt4.engine.strategies import (FrozenModelFSDPStrategy, checks,
                                                   register_available_deepspeed_optimizers,
                                                   resolve_module_classes, unwrapped_model)
from mmpretrain_minigpt4.engine.strategies.fsdp import own_parameters

STAGE2_TINY_FSDP = 'configs/minigpt4/stage2_tiny_fsdp.py'
STAGE2_TINY_ZERO2 = 'configs/minigpt4/stage2_tiny_deepspeed-zero2.py'
FULL_SIZE = {  # strategy config -> the config it adds a strategy to
    f'{base}_{strategy}.py': f'{base}.py'
    for base in ('stage1_pretrain_vicuna-13b', 'stage2_vicuna-13b', 'stage3_minigptv2')
    for strategy in ('fsdp', 'deepspeed-zero2', 'deepspeed-zero3')}
WRAPPED_CLASSES = {'EvaBlock', 'Blip2QFormerLayer', 'LlamaDecoderLayer', 'EVAViT', 'FP32LayerNorm',
                   'QFormerNeck'}
OPTIMIZER_INDEX = {'head.proj.weight': 0, 'head.proj.bias': 1}  # DDP's order
DEEPSPEED = pytest.mark.skipif(not checks.deepspeed_installed(),
                               reason=f'DeepSpeed is not installed ({checks.DEEPSPEED_INSTALL})')


def dist_train(config, work_dir, tmp_path, *options, env=None):
    """tools/dist_train.sh CONFIG 2 on the CPU: the same data, instruction and starting
    weights in every run (all weights from init_cfg: FlexibleRunner builds the model after
    other components, so random initialisation would differ from the Runner's)."""
    result = subprocess.run(
        ['bash', 'tools/dist_train.sh', config, '2', '--work-dir', str(work_dir), *options,
         '--cfg-options', 'train_cfg.max_iters=4', 'default_hooks.checkpoint.interval=2',
         'model.init_cfg.type=Pretrained', f'model.init_cfg.checkpoint={tmp_path}/start.pth',
         "train_dataloader.dataset.pipeline.1.instructions=['Describe this.']"],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=600,
        env={**os.environ, **cpu_env(tmp_path, PORT=str(free_port()), PYTHON=sys.executable,
                                     **ONE_THREAD), **(env or {})})
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-5000:]
    return result.stdout + result.stderr


@pytest.fixture(scope='module')
def runs(tmp_path_factory):
    """DDP, FSDP, and FSDP resumed at iteration 2, 4 iterations each (checkpoints at 2, 4)."""
    tmp_path = tmp_path_factory.mktemp('strategies')
    start = build_tiny_model(seed=0, save_frozen_weights=True)
    torch.save(dict(state_dict=start.state_dict()), tmp_path / 'start.pth')
    logs = dict(ddp=dist_train(STAGE2_TINY, tmp_path / 'ddp', tmp_path),
                fsdp=dist_train(STAGE2_TINY_FSDP, tmp_path / 'fsdp', tmp_path))
    logs['resumed'] = dist_train(STAGE2_TINY_FSDP, tmp_path / 'resumed', tmp_path,
                                 '--resume', str(tmp_path / 'fsdp' / 'iter_2.pth'))
    return tmp_path, logs


def assert_same_training_state(got, expected):
    """Projection weights and AdamW moments (FSDP's optimiser state is keyed by name)."""
    for key in TRAINABLE:
        torch.testing.assert_close(got['state_dict'][key], expected['state_dict'][key],
                                   rtol=1e-5, atol=1e-6)
        got_state = got['optimizer']['state'][key]
        state = expected['optimizer']['state']
        state = state[key] if key in state else state[OPTIMIZER_INDEX[key]]
        for moment in ('exp_avg', 'exp_avg_sq'):
            torch.testing.assert_close(got_state[moment], state[moment], rtol=1e-5, atol=1e-9)


def test_fsdp_on_two_cpu_processes_matches_ddp(runs):
    tmp_path, logs = runs
    assert 'Distributed training: True' in logs['fsdp'] and 'GPU number: 2' in logs['fsdp']
    # The parameter groups of the unwrapped model: weight decay on the matrix, none on the bias.
    assert 'paramwise_options -- head.proj.bias:weight_decay=0.0' in logs['fsdp']
    assert 'head.proj.weight:weight_decay' not in logs['fsdp']
    assert 'Trainable: 2 tensors, 2,112 parameters (head)' in logs['fsdp']
    for iteration in (2, 4):
        assert_same_training_state(checkpoint(tmp_path / 'fsdp', iteration),
                                   checkpoint(tmp_path / 'ddp', iteration))


def test_fsdp_checkpoints_hold_only_trainable_weights(runs):
    tmp_path, _ = runs
    for iteration in (2, 4):
        ckpt = checkpoint(tmp_path / 'fsdp', iteration)
        assert set(ckpt['state_dict']) == TRAINABLE
        assert ckpt['state_dict']['head.proj.weight'].shape == (64, 32)  # whole, not a shard
        assert set(ckpt['optimizer']['state']) == TRAINABLE
    assert osp.getsize(tmp_path / 'fsdp' / 'iter_4.pth') < 200_000


def test_fsdp_resumes_to_the_weights_of_an_uninterrupted_run(runs):
    tmp_path, logs = runs
    assert 'resumed epoch: 0, iter: 2' in logs['resumed']
    assert_same_training_state(checkpoint(tmp_path / 'resumed', 4),
                               checkpoint(tmp_path / 'fsdp', 4))


@DEEPSPEED
def test_deepspeed_zero2_on_two_cpu_processes_matches_ddp(runs):
    tmp_path, _ = runs
    # DeepSpeed compiles its CPU communication op when first used (about 2 minutes on 2
    # cores) into torch's cache: the machine's, not the runs' temporary one, so only once.
    dist_train(STAGE2_TINY_ZERO2, tmp_path / 'zero2', tmp_path,
               env=dict(XDG_CACHE_HOME=os.environ.get('XDG_CACHE_HOME',
                                                      osp.expanduser('~/.cache'))))
    expected = checkpoint(tmp_path / 'ddp', 4)['state_dict']
    model_states = torch.load(tmp_path / 'zero2' / 'iter_4.pth' / 'mp_rank_00_model_states.pt',
                              map_location='cpu', weights_only=False)
    assert set(model_states['module']) == TRAINABLE  # exclude_frozen_parameters
    for key in TRAINABLE:
        torch.testing.assert_close(model_states['module'][key], expected[key], rtol=1e-5, atol=1e-6)


@pytest.fixture
def one_process_group():
    dist.init_process_group('gloo', init_method=f'tcp://127.0.0.1:{free_port()}', rank=0,
                            world_size=1)
    yield
    dist.destroy_process_group()


def test_fsdp_units_of_minigptv2_hold_one_dtype_and_trainable_weights_alone(one_process_group):
    """The tiny MiniGPT-v2 with an fp16 LLM and fp32 LoRA, wrapped as the configs wrap it."""
    cfg = Config.fromfile(TINY_V2_MODEL_CONFIG)
    cfg.model.llm.dtype = 'float16'
    torch.manual_seed(0)
    model = MODELS.build(cfg.model).eval()
    names = {name: param.requires_grad for name, param in model.named_parameters()}
    torch.manual_seed(1)
    images = torch.randn(1, 3, 448, 448)
    samples = [DataSample(instruction='[caption] Describe this.', answer='A cat.')]
    expected_loss = model(images, samples, mode='loss')['loss']
    wrapper_cfg = Config.fromfile(
        osp.join(REPO_ROOT, 'configs/minigpt4/_base_/strategies/fsdp.py')).strategy.model_wrapper
    fsdp_model = MODEL_WRAPPERS.build(dict(wrapper_cfg, type='MMFullyShardedDataParallel',
                                           module=model, device_id=torch.device('cpu')))

    units = FSDP.fsdp_modules(fsdp_model)
    for unit in units:
        params = list(own_parameters(unit))
        assert len({p.dtype for p in params}) == 1, type(unit.module).__name__
        assert len({p.requires_grad for p in params}) == 1, type(unit.module).__name__
    kinds = [type(unit.module).__name__ for unit in units]
    assert set(kinds) == {'MiniGPT4', 'EVAViT', 'EvaBlock', 'FP32LayerNorm', 'LlamaDecoderLayer',
                          'Linear'}
    assert kinds.count('Linear') == 1 + 2 * 2 * 2  # the projection, LoRA A and B of 2 x 2 layers
    assert {p.dtype for p in own_parameters(fsdp_model)} == {torch.float16}  # LLM embeddings, head

    with unwrapped_model(fsdp_model) as unwrapped:
        params = dict(unwrapped.named_parameters())
        assert {name: p.requires_grad for name, p in params.items()} == names
        assert set(unwrapped.state_dict()) == {name for name, trains in names.items() if trains}
    loss = fsdp_model(images, samples, mode='loss')['loss']
    torch.testing.assert_close(loss, expected_loss)
    loss.backward()
    assert {name for name, p in params.items() if p.grad is not None} == {
        name for name, trains in names.items() if trains}


@pytest.mark.parametrize('name', sorted(FULL_SIZE))
def test_full_size_strategy_config_adds_only_the_strategy(name, monkeypatch):
    if not osp.exists(osp.join(REPO_ROOT, 'configs/minigpt4', FULL_SIZE[name])):
        pytest.skip(f'{FULL_SIZE[name]} is not in this checkout')
    cfg = Config.fromfile(osp.join(REPO_ROOT, 'configs/minigpt4', name))
    base = Config.fromfile(osp.join(REPO_ROOT, 'configs/minigpt4', FULL_SIZE[name]))
    for key in ('model', 'train_dataloader', 'param_scheduler', 'train_cfg', 'load_from'):
        assert cfg.get(key) == base.get(key), key
    assert STRATEGIES.get(cfg.strategy.type) is not None
    if name.endswith('_fsdp.py'):
        assert STRATEGIES.get('FSDPStrategy') is FrozenModelFSDPStrategy
        assert cfg.optim_wrapper == base.optim_wrapper
        policy = cfg.strategy.model_wrapper.auto_wrap_policy
        classes = resolve_module_classes(policy.module_classes)
        assert {c.__name__ for c in classes} == WRAPPED_CLASSES
        assert cfg.strategy.state_dict_cfg == 'full'
    else:
        assert cfg.optim_wrapper == dict(base.optim_wrapper, type='DeepSpeedOptimWrapper')
        assert cfg.strategy.zero_optimization.stage == (2 if name.endswith('zero2.py') else 3)
        assert cfg.strategy.exclude_frozen_parameters is True
    monkeypatch.setenv('WORLD_SIZE', '8')
    monkeypatch.setattr(checks, 'deepspeed_installed', lambda: True)
    cfg.launcher = 'pytorch'
    checks.check_training_strategy(cfg)


def train_error(argv, monkeypatch, tmp_path, deepspeed_installed=True, **env) -> str:
    """The message tools/train.py stops with, having built nothing (no work dir)."""
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setattr(checks, 'deepspeed_installed', lambda: deepspeed_installed)
    tool = load_script('tools/train.py')
    work_dir = tmp_path / 'work'
    with pytest.raises(SystemExit) as stopped:
        tool.main([*argv[:1], '--work-dir', str(work_dir), *argv[1:]])
    assert not work_dir.exists()
    return str(stopped.value)


@pytest.mark.parametrize('argv, env, message', [
    ([STAGE2_TINY_FSDP], {}, "strategy.type='FSDPStrategy' shards training over processes but "
     'this is one process without a launcher: start it with tools/dist_train.sh'),
    ([STAGE2_TINY_FSDP, '--launcher', 'pytorch'], dict(WORLD_SIZE='1'),
     "strategy.type='FSDPStrategy' shards training over processes but pytorch started one"),
    ([STAGE2_TINY_ZERO2, '--launcher', 'slurm'], dict(SLURM_NTASKS='1'),
     "strategy.type='DeepSpeedStrategy' shards training over processes but slurm started one"),
    ([STAGE2_TINY_FSDP, '--cfg-options', 'strategy.type=ZeroStrategy'], {},
     "strategy.type='ZeroStrategy' is not a registered strategy; known: ColossalAIStrategy, "
     'DDPStrategy, DeepSpeedStrategy, FSDPStrategy, SingleDeviceStrategy.'),
    ([STAGE2_TINY_FSDP, '--launcher', 'pytorch', '--cfg-options',
      "strategy.model_wrapper.auto_wrap_policy.module_classes=['transformers.LlamaLayer']"], {},
     "strategy.model_wrapper.auto_wrap_policy.module_classes: 'transformers.LlamaLayer' is not "
     'an importable nn.Module class'),
    ([STAGE2_TINY_FSDP, '--launcher', 'pytorch', '--cfg-options',
      'strategy.model_wrapper.use_orig_params=False'], {},
     'strategy.model_wrapper.use_orig_params must be True'),
    ([STAGE2_TINY_FSDP, '--launcher', 'pytorch', '--cfg-options', 'strategy.state_dict_cfg=local'],
     {}, "strategy.state_dict_cfg must be 'full'"),
    ([STAGE2_TINY_FSDP, '--launcher', 'pytorch', '--cfg-options',
      'model.cache_frozen_features=True'], {},
     "model.cache_frozen_features=True with strategy.type='FSDPStrategy'"),
    ([STAGE2_TINY_ZERO2, '--launcher', 'pytorch', '--amp'], {},
     "optim_wrapper.type must be 'DeepSpeedOptimWrapper', got 'AmpOptimWrapper'"),
])
def test_a_strategy_that_cannot_run_stops_before_anything_is_built(argv, env, message, monkeypatch,
                                                                    tmp_path):
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: True)  # --amp passes parse_args
    assert message in train_error(argv, monkeypatch, tmp_path, **env)


def test_deepspeed_not_installed_says_what_to_install(monkeypatch, tmp_path):
    message = train_error([STAGE2_TINY_ZERO2, '--launcher', 'pytorch'], monkeypatch, tmp_path,
                          deepspeed_installed=False, WORLD_SIZE='2')
    assert ("strategy.type='DeepSpeedStrategy' needs DeepSpeed, which is not installed: "
            'DS_BUILD_OPS=0 pip install deepspeed') in message


def test_validation_with_sharded_weights_is_refused():
    cfg = Config.fromfile(osp.join(REPO_ROOT, STAGE2_TINY_FSDP))
    cfg.launcher = 'pytorch'
    cfg.val_dataloader = dict(batch_size=1)
    with pytest.raises(checks.StrategyConfigError, match='pass --no-validate'):
        checks.check_training_strategy(cfg)
    cfg.strategy.model_wrapper.sharding_strategy = 'NO_SHARD'  # every rank holds every weight
    checks.check_training_strategy(cfg)


@pytest.mark.parametrize('config, runner', [(STAGE2_TINY, 'Runner'),
                                             (STAGE2_TINY_FSDP, 'FlexibleRunner')])
def test_a_strategy_selects_the_flexible_runner(config, runner, monkeypatch):
    tool = load_script('tools/train.py')
    for name in ('Runner', 'FlexibleRunner'):
        monkeypatch.setattr(getattr(tool, name), 'from_cfg', classmethod(lambda cls, cfg: cls))
    cfg = Config.fromfile(osp.join(REPO_ROOT, config))
    assert tool.build_runner(cfg).__name__ == runner
    if runner == 'Runner':
        checks.check_training_strategy(cfg)  # no strategy, no launcher: nothing to refuse


def test_deepspeed_optimisers_are_registered_as_far_as_deepspeed_has_them(monkeypatch):
    """DeepSpeed 0.19 removed the 1-bit optimisers MMEngine imports."""
    import mmengine._strategy.deepspeed as mmengine_deepspeed
    registered = mmengine_deepspeed.register_deepspeed_optimizers
    assert registered is register_available_deepspeed_optimizers

    fused_adam = type('FusedAdam', (torch.optim.Adam, ), {})
    adam = types.ModuleType('deepspeed.ops.adam')
    adam.FusedAdam = fused_adam  # no DeepSpeedCPUAdam
    for name in ('deepspeed', 'deepspeed.ops', 'deepspeed.runtime', 'deepspeed.runtime.fp16'):
        monkeypatch.setitem(sys.modules, name, types.ModuleType(name))
    monkeypatch.setitem(sys.modules, 'deepspeed.ops.adam', adam)
    monkeypatch.setitem(sys.modules, 'deepspeed.ops.lamb', None)  # import fails
    monkeypatch.setitem(sys.modules, 'deepspeed.runtime.fp16.onebit', None)
    monkeypatch.setattr(OPTIMIZERS, '_module_dict', dict(OPTIMIZERS._module_dict))
    assert register_available_deepspeed_optimizers() == ['FusedAdam']
    assert OPTIMIZERS.get('FusedAdam') is fused_adam

