"""TrainableParametersOptimWrapperConstructor: one summary line, the default's parameter groups."""
import logging
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.logging import MMLogger
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope

from conftest import REPO_ROOT, build_tiny_model

from mmpretrain_minigpt4.engine import trainable_summary

STAGE2 = osp.join(REPO_ROOT, 'configs/minigpt4/stage2.py')


class LogRecords(logging.Handler):

    def __init__(self):
        super().__init__()
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


@pytest.fixture
def log_records():
    logger = MMLogger.get_current_instance()
    handler = LogRecords()
    logger.addHandler(handler)
    yield handler.messages
    logger.removeHandler(handler)


def stage2_optim_wrapper(model, **changes):
    init_default_scope('mmpretrain')
    cfg = Config.fromfile(STAGE2).optim_wrapper
    cfg.update(changes)
    return build_optim_wrapper(model, cfg)


def grouped(optim_wrapper):
    """``{id(param): weight_decay}`` over every parameter group."""
    return {id(p): group['weight_decay'] for group in optim_wrapper.optimizer.param_groups
            for p in group['params']}


def test_official_model_logs_one_summary_and_optimises_the_projection(log_records):
    model = build_tiny_model()
    optim_wrapper = stage2_optim_wrapper(model)
    assert [m for m in log_records if m.startswith('Trainable: ')] == [
        'Trainable: 2 tensors, 2,112 parameters (head); frozen: 98 tensors, 4,244,896 '
        'parameters (vision_encoder, ln_vision, neck, llm).']
    assert not [m for m in log_records if 'requires_grad' in m]
    decay = grouped(optim_wrapper)
    head = model.head.proj
    # As the default constructor: no weight decay on biases (paramwise_cfg).
    assert decay == {id(head.weight): 0.05, id(head.bias): 0.0}


def test_summary_follows_requires_grad():
    model = build_tiny_model(freeze_llm=False)
    assert trainable_summary(model) == (
        'Trainable: 23 tensors, 4,180,352 parameters (head, llm); frozen: 77 tensors, '
        '66,656 parameters (vision_encoder, ln_vision, neck).')
    everything = torch.nn.Linear(2, 3)
    assert trainable_summary(everything) == (
        'Trainable: 2 tensors, 9 parameters (weight, bias); frozen: 0 tensors, 0 parameters.')


def test_same_groups_as_the_default_constructor():
    model = build_tiny_model(freeze_llm=False)
    ours = grouped(stage2_optim_wrapper(model))
    default = grouped(stage2_optim_wrapper(model, constructor='DefaultOptimWrapperConstructor'))
    assert ours == default
    trainable = {id(p) for p in model.parameters() if p.requires_grad}
    assert set(ours) == trainable
    # LLM norms (1-D) get no weight decay, its matrices do.
    assert ours[id(model.llm.model.norm.weight)] == 0.0
    assert ours[id(model.llm.lm_head.weight)] == 0.05


def test_a_partly_frozen_module_still_warns_as_mmengine_does(log_records):
    """Only wholly frozen modules are skipped silently; a frozen tensor beside a
    trainable one in the same module is MMEngine's case and keeps its warning."""
    model = torch.nn.Sequential(torch.nn.Linear(2, 2))
    model[0].bias.requires_grad_(False)
    stage2_optim_wrapper(model)
    assert '0.bias is skipped since its requires_grad=False' in log_records
