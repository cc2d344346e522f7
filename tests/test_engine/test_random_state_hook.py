"""RandomStateHook: torch's random state travels with checkpoints into resumed runs only."""
import logging
from types import SimpleNamespace

import torch

from mmpretrain_minigpt4.engine.hooks import RandomStateHook


def runner(resume):
    return SimpleNamespace(_resume=resume, logger=logging.getLogger('test'))


def test_a_resumed_run_draws_what_the_interrupted_one_would_have():
    hook, checkpoint = RandomStateHook(), {}
    torch.manual_seed(3)
    hook.before_save_checkpoint(runner(False), checkpoint)
    expected = torch.rand(5)
    torch.manual_seed(42)  # the resumed run's own seeding
    hook.after_load_checkpoint(runner(True), checkpoint)
    assert torch.equal(torch.rand(5), expected)
    assert checkpoint['torch_random_states']['cpu'].dtype == torch.uint8


def test_load_from_starts_a_new_run_and_keeps_its_own_random_state():
    hook, checkpoint = RandomStateHook(), {}
    torch.manual_seed(3)
    hook.before_save_checkpoint(runner(False), checkpoint)
    torch.manual_seed(42)
    expected = torch.get_rng_state()
    hook.after_load_checkpoint(runner(False), checkpoint)  # load_from, not resume
    assert torch.equal(torch.get_rng_state(), expected)
    hook.after_load_checkpoint(runner(True), {})  # a checkpoint without states
    assert torch.equal(torch.get_rng_state(), expected)
