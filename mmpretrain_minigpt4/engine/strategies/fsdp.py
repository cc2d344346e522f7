"""FSDP for a mostly frozen model: MMEngine 0.10.7's ``FSDPStrategy`` with the fixes it needs
on today's torch, registered under MMEngine's name (configs keep ``type='FSDPStrategy'``).

What breaks with MMEngine's strategy, and where it is fixed here:

- no GPU: MMEngine passes ``device_id=LOCAL_RANK`` and torch 2.13 then fails with
  ``Cannot access accelerator device when none is available`` (:meth:`_wrap_model`);
  and FSDP takes ``.cpu()`` (``offload_to_cpu``, on in MMEngine's ``'full'``) as its
  copy of a gathered buffer, which on the CPU is none: a full optimiser state dict
  then gives every state of a parameter the last one gathered (``exp_avg`` equal to
  ``exp_avg_sq``; FSDP's full model state dict even crashes, segmentation fault); a
  CPU run does not offload the optimiser state (:meth:`_init_state_dict_cfg`);
- FSDP flattens each shard to 1-D, so the optimiser's ``paramwise_cfg``
  (``flat_decay_mult=0``) would take the weight decay off every matrix; MMEngine's
  rebuild of a built optimiser fails too (torch's ``AdamW`` lists
  ``decoupled_weight_decay`` among its defaults but takes no such argument): the
  parameter groups are built on the unwrapped model (:meth:`build_optim_wrapper`);
- torch 2.1 moved ``optim_state_dict`` after ``model`` and ``optim`` in
  ``FSDP.optim_state_dict_to_load``; MMEngine passes it first (``TypeError:
  unhashable type: 'dict'`` on resume) (:meth:`load_optim_state_dict`);
- FSDP's nested units put ``_fsdp_wrapped_module`` into the names the model sees and
  shard the shapes, so the model's own state-dict hooks (MiniGPT4: save the trainable
  weights only, check what is loaded) cannot work, and a full FSDP state dict gathers
  every frozen weight onto rank 0: checkpoints hold what the unwrapped model's
  ``state_dict`` holds, gathered from the units that own it
  (:meth:`model_state_dict`, :meth:`load_model_state_dict`, :func:`unwrapped_model`).

A unit of FSDP holds parameters of one dtype; :func:`frozen_model_wrap_policy` picks
the units.
"""
import contextlib
import dataclasses
import importlib
import re
from functools import lru_cache
from typing import Dict, Iterable, Iterator, List, Sequence, Tuple, Type

import torch
from mmengine._strategy import FSDPStrategy
from mmengine._strategy.base import BaseStrategy
from mmengine.config import Config, ConfigDict
from mmengine.registry import FUNCTIONS, STRATEGIES
from mmengine.runner.checkpoint import _load_checkpoint_to_model
from torch import nn
from torch.distributed.fsdp import FullyShardedDataParallel as FSDP

WRAP_POLICY_SETTING = 'strategy.model_wrapper.auto_wrap_policy.module_classes'


def resolve_module_classes(names: Sequence[str],
                           setting: str = WRAP_POLICY_SETTING) -> Tuple[Type[nn.Module], ...]:
    """Import ``'package.module.ClassName'`` names to the ``nn.Module`` classes.

    Raises:
        ValueError: Naming ``setting`` and the name, if one is not such a class.
    """
    return _resolve_module_classes(tuple(names), setting)


@lru_cache(maxsize=None)
def _resolve_module_classes(names: Tuple[str, ...], setting: str) -> Tuple[Type[nn.Module], ...]:
    classes = []
    for name in names:
        module_name, _, class_name = str(name).rpartition('.')
        found = None
        if module_name:
            try:
                found = getattr(importlib.import_module(module_name), class_name)
            except (ImportError, AttributeError):
                pass
        if not (isinstance(found, type) and issubclass(found, nn.Module)):
            raise ValueError(f'{setting}: {name!r} is not an importable nn.Module class; give '
                             "its full path, e.g. 'transformers.models.llama.modeling_llama."
                             "LlamaDecoderLayer'.")
        classes.append(found)
    return tuple(classes)


def own_parameters(module: nn.Module) -> Iterator[nn.Parameter]:
    """Parameters of ``module`` that no FSDP unit below it (or the unit it is) has taken."""
    if isinstance(module, FSDP):
        module = module.module
    yield from module.parameters(recurse=False)
    for child in module.children():
        if not isinstance(child, FSDP):
            yield from own_parameters(child)


@FUNCTIONS.register_module()
def frozen_model_wrap_policy(module: nn.Module, recurse: bool, nonwrapped_numel: int,
                             module_classes: Sequence[str] = ()) -> bool:
    """FSDP auto-wrap policy: a unit for each instance of ``module_classes`` and for
    each module whose parameters, outside units below it, all train.

    Trainable parameters thus never share a unit (one flat parameter) with frozen
    ones; in a mostly frozen model they are small leaves (MiniGPT-4's projection,
    MiniGPT-v2's LoRA factors, fp32 beside an fp16 LLM). Modules are visited
    children first, as FSDP's auto wrapping does.

    Args:
        module_classes (Sequence[str]): Full class names, e.g. the transformer
            layers (the units gathered one at a time) and the parts whose dtype
            differs from the rest.
    """
    if recurse:
        return True
    if isinstance(module, resolve_module_classes(module_classes)):
        return True
    params = list(own_parameters(module))
    return bool(params) and all(p.requires_grad for p in params)


def parameter_owners(fsdp_model: FSDP) -> Dict[str, FSDP]:
    """``{name as in the unwrapped model: the FSDP unit that holds it}``, in module order."""
    owners = {}

    def visit(module: nn.Module, prefix: str, unit: FSDP) -> None:
        if isinstance(module, FSDP):
            unit, module = module, module.module
        for name, param in module.named_parameters(recurse=False):
            owners.setdefault(prefix + name, unit)
        for name, child in module.named_children():
            visit(child, f'{prefix}{name}.', unit)

    visit(fsdp_model, '', fsdp_model)
    return owners


@contextlib.contextmanager
def unwrapped_model(fsdp_model: FSDP, gather: Iterable[str] = (), writeback: bool = False):
    """The model inside ``fsdp_model`` with its module tree as before wrapping: names,
    and the model's own hooks, as without FSDP.

    Meanwhile the root unit and the units that own the parameters named in
    ``gather`` hold them whole (other parameters stay 1-D shards); with
    ``writeback`` what is written into them goes back to the shards. Every rank
    must enter it with the same ``gather``.
    """
    owners = parameter_owners(fsdp_model)
    wanted = {id(owners[name]) for name in gather if name in owners}
    # The root first (FSDP initialises from it), then in module order: the same on every rank.
    units: List[FSDP] = [fsdp_model] + [
        unit for unit in dict.fromkeys(owners.values())
        if id(unit) in wanted and unit is not fsdp_model]
    model = fsdp_model.module
    nested = [(parent, name, child) for parent in model.modules()
              for name, child in parent.named_children() if isinstance(child, FSDP)]
    with contextlib.ExitStack() as stack:
        for unit in units:
            stack.enter_context(FSDP.summon_full_params(unit, recurse=False, writeback=writeback))
        for parent, name, child in nested:
            parent._modules[name] = child.module
        try:
            yield model
        finally:
            for parent, name, child in reversed(nested):
                parent._modules[name] = child


def revised_keys(keys: Iterable[str], revise_keys: Sequence[Tuple[str, str]]) -> List[str]:
    """``keys`` with each ``(pattern, replacement)`` applied in turn, as MMEngine's loader does."""
    keys = list(keys)
    for pattern, replacement in revise_keys:
        keys = [re.sub(pattern, replacement, key) for key in keys]
    return keys


@STRATEGIES.register_module(name='FSDPStrategy', force=True)
class FrozenModelFSDPStrategy(FSDPStrategy):
    """MMEngine's ``FSDPStrategy`` with the fixes of :mod:`this module <.fsdp>`.

    Same arguments. ``model_wrapper.use_orig_params`` must stay True (the
    optimiser holds the model's own parameters) and ``state_dict_cfg`` must be
    ``'full'`` (one checkpoint file, written by rank 0); see
    :func:`~.checks.check_training_strategy`.
    """

    def _wrap_model(self, model: nn.Module) -> FSDP:
        if not torch.cuda.is_available():
            self.model_wrapper = dict(self.model_wrapper or {})
            self.model_wrapper.setdefault('device_id', torch.device('cpu'))
        return super()._wrap_model(model)

    def _init_state_dict_cfg(self, state_dict_cfg) -> None:
        super()._init_state_dict_cfg(state_dict_cfg)
        if not torch.cuda.is_available():
            self.optim_state_dict_config = dataclasses.replace(self.optim_state_dict_config,
                                                               offload_to_cpu=False)

    def build_optim_wrapper(self, optim_wrapper, model=None):
        """Parameter groups as on the unwrapped model (names, shapes, module types)."""
        if not isinstance(optim_wrapper, (dict, ConfigDict, Config)):
            return super().build_optim_wrapper(optim_wrapper, model)
        optim_wrapper.setdefault('type', 'OptimWrapper')
        if optim_wrapper['type'] == 'AmpOptimWrapper':
            optim_wrapper.setdefault('use_fsdp', True)
        with unwrapped_model(model) as unwrapped:
            trainable = [name for name, p in unwrapped.named_parameters() if p.requires_grad]
        with unwrapped_model(model, gather=trainable) as unwrapped:
            return BaseStrategy.build_optim_wrapper(self, optim_wrapper, unwrapped)

    def model_state_dict(self) -> dict:
        """What the unwrapped model's ``state_dict`` holds, on the CPU, on every rank."""
        with unwrapped_model(self.model) as unwrapped:
            keys = list(unwrapped.state_dict(keep_vars=True))
        with unwrapped_model(self.model, gather=keys) as unwrapped:
            return {key: value.detach().to('cpu', copy=True)
                    for key, value in unwrapped.state_dict().items()}

    def load_model_state_dict(self, state_dict: dict, *, strict: bool = False,
                              revise_keys: list = [(r'^module.', '')]) -> None:
        """Load as into the unwrapped model (its own checks run); the units that own the
        loaded tensors are gathered for it."""
        gather = revised_keys(state_dict, revise_keys)
        with unwrapped_model(self.model, gather=gather, writeback=True) as unwrapped:
            _load_checkpoint_to_model(unwrapped, state_dict, strict=strict,
                                      revise_keys=revise_keys)

    def load_optim_state_dict(self, state_dict: dict) -> None:
        """The optimiser state of :meth:`optim_state_dict`, sharded for this rank."""
        optimizer = self.optim_wrapper.optimizer
        self.optim_wrapper.load_state_dict(FSDP.optim_state_dict_to_load(
            model=self.model, optim=optimizer, optim_state_dict=state_dict))
