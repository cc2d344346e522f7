"""A progress bar (with its ETA) over the batches of validation and testing."""
from typing import Optional

from mmengine.dist import is_main_process
from mmengine.hooks import Hook
from mmpretrain.registry import HOOKS
from tqdm import tqdm


@HOOKS.register_module()
class ProgressBarHook(Hook):
    """Shows a ``tqdm`` bar on stderr while the validation or test loop runs
    (main process only); the LoggerHook's lines stay as they are.

    Evaluating MiniGPT-4 on a benchmark generates an answer per sample (hours
    for 7B); the bar shows how far it is and how long it will take.
    """

    priority = 'VERY_LOW'

    def __init__(self):
        self._bar: Optional[tqdm] = None

    def _start(self, runner, mode: str) -> None:
        if is_main_process():
            loader = runner.val_dataloader if mode == 'val' else runner.test_dataloader
            self._bar = tqdm(total=len(loader), desc=mode.capitalize(), unit='batch',
                             dynamic_ncols=True)

    def _advance(self) -> None:
        if self._bar is not None:
            self._bar.update(1)

    def _finish(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def before_val_epoch(self, runner) -> None:
        self._start(runner, 'val')

    def before_test_epoch(self, runner) -> None:
        self._start(runner, 'test')

    def after_val_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        self._advance()

    def after_test_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        self._advance()

    def after_val_epoch(self, runner, metrics=None) -> None:
        self._finish()

    def after_test_epoch(self, runner, metrics=None) -> None:
        self._finish()
