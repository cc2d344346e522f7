"""An MMEngine visualisation backend that draws the training loss curve as a PNG."""
import os
import os.path as osp
from collections import defaultdict
from typing import Dict, List, Optional, Tuple

from mmengine.dist import master_only
from mmengine.visualization.vis_backend import BaseVisBackend, force_init_env
from mmpretrain.registry import VISBACKENDS


@VISBACKENDS.register_module()
class LossCurveVisBackend(BaseVisBackend):
    """Draws every logged scalar whose name contains ``'loss'`` against the
    iteration, into ``{save_dir}/loss_curve.png`` (the run's ``vis_data``
    folder): when the run ends, and every ``draw_interval`` logged values so
    that an interrupted run has a picture too. The numbers themselves are in
    ``LocalVisBackend``'s ``scalars.json``.

    Args:
        save_dir (str): Set by the visualizer.
        file_name (str): Defaults to 'loss_curve.png'.
        draw_interval (int): Redraw after this many logged loss values.
            Defaults to 100.
    """

    def __init__(self, save_dir: str, file_name: str = 'loss_curve.png',
                 draw_interval: int = 100):
        super().__init__(save_dir)
        self.file_name = file_name
        self.draw_interval = draw_interval
        self._curves: Dict[str, List[Tuple[int, float]]] = defaultdict(list)
        self._undrawn = 0

    @property
    def curve_file(self) -> str:
        return osp.join(self._save_dir, self.file_name)

    @property
    @force_init_env
    def experiment(self) -> 'LossCurveVisBackend':
        return self

    def _init_env(self) -> None:
        os.makedirs(self._save_dir, exist_ok=True)

    @master_only
    @force_init_env
    def add_scalar(self, name: str, value, step: int = 0, **kwargs) -> None:
        if 'loss' not in name:
            return
        self._curves[name].append((step, float(value)))
        self._undrawn += 1
        if self._undrawn >= self.draw_interval:
            self.draw()

    @master_only
    def add_scalars(self, scalar_dict: dict, step: int = 0,
                    file_path: Optional[str] = None, **kwargs) -> None:
        for name, value in scalar_dict.items():
            self.add_scalar(name, value, step)

    @master_only
    def draw(self) -> Optional[str]:
        """Write the picture now; returns its path (None before any loss was logged)."""
        if not self._curves:
            return None
        # The object-oriented API only: no pyplot, no GUI backend, safe in threads.
        from matplotlib.figure import Figure

        figure = Figure(figsize=(6.4, 4.0), dpi=100, layout='tight')
        axes = figure.add_subplot()
        for name, points in self._curves.items():
            steps, values = zip(*points)
            axes.plot(steps, values, label=name)
        axes.set_xlabel('iteration')
        axes.set_ylabel('loss')
        if all(value > 0 for points in self._curves.values() for _, value in points):
            axes.set_yscale('log')
        axes.grid(True, alpha=0.3)
        axes.legend()
        axes.set_title('Training loss')
        figure.savefig(self.curve_file)
        self._undrawn = 0
        return self.curve_file

    @master_only
    def close(self) -> None:
        if self._undrawn:
            self.draw()
