"""Checkpoints carry torch's random state, so that a resumed run draws what an
uninterrupted one would (MiniGPT-v2's LoRA dropout)."""
import torch
from mmengine.hooks import Hook
from mmpretrain.registry import HOOKS

CHECKPOINT_KEY = 'torch_random_states'


@HOOKS.register_module()
class RandomStateHook(Hook):
    """Save torch's CPU (and CUDA) generator states with every checkpoint and put them
    back when a run resumes from it (not for ``load_from``, a new run).

    MMEngine re-seeds a resumed run and replays the data it skips, which
    re-draws the data pipeline's random choices, but not what the model drew:
    dropout masks (MiniGPT-v2's LoRA dropout) would differ from an
    uninterrupted run. The states are plain uint8 tensors (safe to unpickle).
    """

    priority = 'VERY_LOW'

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        states = dict(cpu=torch.get_rng_state())
        if torch.cuda.is_available() and torch.cuda.is_initialized():
            states['cuda'] = torch.cuda.get_rng_state_all()
        checkpoint[CHECKPOINT_KEY] = states

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        states = checkpoint.get(CHECKPOINT_KEY)
        if states is None or not getattr(runner, '_resume', False):
            return
        torch.set_rng_state(states['cpu'])
        cuda = states.get('cuda')
        if cuda is not None and torch.cuda.is_available():
            if len(cuda) != torch.cuda.device_count():
                runner.logger.warning(
                    f'The checkpoint holds the random states of {len(cuda)} GPUs, this machine '
                    f'has {torch.cuda.device_count()}: CUDA random draws will differ from an '
                    'uninterrupted run.')
                return
            torch.cuda.set_rng_state_all(cuda)
