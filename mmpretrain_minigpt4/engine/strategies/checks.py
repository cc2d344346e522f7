"""The checks of a config's ``strategy`` that tools/train.py runs before anything is built."""
import importlib.util
import os
from typing import Optional

from mmengine.config import Config
from mmengine.registry import FUNCTIONS, STRATEGIES

from .fsdp import resolve_module_classes

# Strategies that split the model or its training state over processes started by a launcher.
SHARDING_STRATEGIES = ('FSDPStrategy', 'DeepSpeedStrategy', 'ColossalAIStrategy')
# Where each launcher tells the number of processes.
WORLD_SIZE_VARIABLES = dict(pytorch='WORLD_SIZE', slurm='SLURM_NTASKS', mpi='OMPI_COMM_WORLD_SIZE')
DEEPSPEED_INSTALL = 'DS_BUILD_OPS=0 pip install deepspeed'


class StrategyConfigError(ValueError):
    """A config's ``strategy`` cannot run as set; the message names the setting."""


def strategy_name(strategy: dict) -> str:
    """The registry name of ``strategy['type']`` (a name or a class)."""
    strategy_type = strategy.get('type')
    return strategy_type if isinstance(strategy_type, str) else getattr(
        strategy_type, '__name__', repr(strategy_type))


def launched_world_size(launcher: str) -> Optional[int]:
    """The number of processes the launcher started, if it says."""
    value = os.environ.get(WORLD_SIZE_VARIABLES.get(launcher, ''), '')
    return int(value) if value.isdigit() else None


def check_training_strategy(cfg: Config) -> None:
    """Refuse a ``strategy`` that cannot train as configured, before anything is built.

    Without ``cfg.strategy`` nothing is checked (MMEngine's ``Runner`` trains).

    Raises:
        StrategyConfigError: For an unknown strategy type; a sharding strategy in
            one process (no launcher, or a launcher that started one process);
            DeepSpeed not installed, or an ``optim_wrapper.type`` other than
            ``DeepSpeedOptimWrapper`` with it (``--amp`` sets ``AmpOptimWrapper``);
            FSDP without ``use_orig_params`` or a ``'full'`` ``state_dict_cfg``, or
            with a wrap-policy class that does not import; with weights sharded (FSDP,
            ZeRO-3), ``model.cache_frozen_features`` or validation (ranks would run
            different layers and wait on each other forever).
    """
    strategy = cfg.get('strategy')
    if strategy is None:
        return
    name = strategy_name(strategy)
    if not isinstance(strategy.get('type'), str) or STRATEGIES.get(name) is None:
        known = ', '.join(sorted(STRATEGIES.module_dict))
        raise StrategyConfigError(f'strategy.type={name!r} is not a registered strategy; '
                                  f'known: {known}.')
    if name in SHARDING_STRATEGIES:
        _check_processes(name, cfg.get('launcher', 'none'))
    if name == 'DeepSpeedStrategy':
        _check_deepspeed(cfg)
    if name == 'FSDPStrategy':
        _check_fsdp(strategy)
    if shards_weights(strategy):
        _check_same_modules_on_every_rank(name, cfg)


def shards_weights(strategy: dict) -> bool:
    """Whether each process holds only a part of the weights (FSDP but ``NO_SHARD``, ZeRO-3),
    gathering a layer's from all processes each time it runs."""
    name = strategy_name(strategy)
    if name == 'FSDPStrategy':
        sharding = (strategy.get('model_wrapper') or {}).get('sharding_strategy')
        return str(sharding) not in ('NO_SHARD', 'ShardingStrategy.NO_SHARD')
    if name == 'DeepSpeedStrategy':
        return (strategy.get('zero_optimization') or {}).get('stage', 0) == 3
    return False


def _check_same_modules_on_every_rank(name: str, cfg: Config) -> None:
    """With sharded weights every rank must run the same layers each step."""
    if cfg.get('model', {}).get('cache_frozen_features'):
        raise StrategyConfigError(
            f'model.cache_frozen_features=True with strategy.type={name!r}: a rank whose '
            'images are cached skips the frozen encoder whose weights the others gather '
            '(the run would hang); set it to False.')
    if cfg.get('val_dataloader') is not None:
        raise StrategyConfigError(
            f'val_dataloader with strategy.type={name!r}: validation generates text and '
            'ranks stop at different lengths, so they would wait on each other\'s weights; '
            'pass --no-validate (or set val_dataloader/val_cfg/val_evaluator to None) and '
            'evaluate the checkpoints with tools/test.py.')


def _check_processes(name: str, launcher: str) -> None:
    start = ('start it with tools/dist_train.sh CONFIG NUM_PROCESSES (torchrun) or, on a '
             'slurm cluster, srun ... python tools/train.py CONFIG --launcher slurm')
    if launcher == 'none':
        raise StrategyConfigError(f'strategy.type={name!r} shards training over processes '
                                  f'but this is one process without a launcher: {start}.')
    world_size = launched_world_size(launcher)
    if world_size == 1:
        raise StrategyConfigError(
            f'strategy.type={name!r} shards training over processes but {launcher} started '
            f'one; {start} with 2 or more, or train without a strategy.')


def deepspeed_installed() -> bool:
    """Whether ``import deepspeed`` would find DeepSpeed (nothing is imported)."""
    return importlib.util.find_spec('deepspeed') is not None


def _check_deepspeed(cfg: Config) -> None:
    if not deepspeed_installed():
        raise StrategyConfigError(
            f"strategy.type='DeepSpeedStrategy' needs DeepSpeed, which is not installed: "
            f'{DEEPSPEED_INSTALL} (ops are compiled when first used), or choose an FSDP '
            'config (*_fsdp.py), which needs nothing more than torch.')
    wrapper_type = cfg.get('optim_wrapper', {}).get('type', 'OptimWrapper')
    if wrapper_type != 'DeepSpeedOptimWrapper':
        raise StrategyConfigError(
            f"strategy.type='DeepSpeedStrategy' steps through DeepSpeed's engine: "
            f"optim_wrapper.type must be 'DeepSpeedOptimWrapper', got {wrapper_type!r} "
            "(--amp sets AmpOptimWrapper: for mixed precision set "
            'strategy.bf16=dict(enabled=True) instead).')


def _check_fsdp(strategy: dict) -> None:
    wrapper = strategy.get('model_wrapper') or {}
    if wrapper.get('use_orig_params', True) is not True:
        raise StrategyConfigError(
            'strategy.model_wrapper.use_orig_params must be True: the optimiser is built on '
            "the model's own parameters, which FSDP keeps (with their requires_grad) only then.")
    if strategy.get('state_dict_cfg', 'local') != 'full':
        raise StrategyConfigError(
            "strategy.state_dict_cfg must be 'full': checkpoints hold what the unwrapped "
            "model's state_dict holds (MiniGPT-4: the trainable weights), one file written by "
            'rank 0.')
    policy = wrapper.get('auto_wrap_policy')
    if policy is None:
        return
    policy_type = policy.get('type') if isinstance(policy, dict) else policy
    if not isinstance(policy_type, str) or FUNCTIONS.get(policy_type) is None:
        raise StrategyConfigError(
            f'strategy.model_wrapper.auto_wrap_policy: {policy_type!r} is not a registered '
            "function; the plugin's is "
            "dict(type='frozen_model_wrap_policy', module_classes=[...]).")
    if isinstance(policy, dict):
        try:
            resolve_module_classes(policy.get('module_classes', ()))
        except ValueError as error:
            raise StrategyConfigError(str(error)) from None
