"""Draw each test image with its predicted caption or question and answer, and its
predicted boxes (MiniGPT-v2 grounding)."""
import math
import os.path as osp
from typing import Sequence

from mmengine.fileio import join_path
from mmpretrain.engine.hooks import VisualizationHook
from mmpretrain.registry import HOOKS
from mmpretrain.structures import DataSample

from ...visualization import draw_predicted_boxes


@HOOKS.register_module()
class PredictionVisualizationHook(VisualizationHook):
    """mmpretrain's ``VisualizationHook`` for captioning and VQA.

    mmpretrain's hook draws class labels only. This one draws ``pred_caption``
    (with ``UniversalVisualizer.visualize_image_caption``) or ``question`` and
    ``pred_answer`` (``visualize_vqa``) on the model's input image, and names
    files ``<sample index>_<image name>.png`` so that several questions about
    one image do not overwrite each other. ``tools/test.py --show-dir DIR``
    enables it.

    A sample with ``pred_bboxes`` (MiniGPT-v2 with ``parse_boxes``: pixels of
    the original image, with ``pred_phrases``) also gets its boxes drawn,
    labelled (:func:`~mmpretrain_minigpt4.visualization.draw_predicted_boxes`):
    scaled from the sample's ``ori_shape`` to the input image, so that they
    sit where the model saw them, beside its text.

    Args:
        enable (bool): Whether to draw. Defaults to False.
        interval (int): Draw every ``interval``-th sample. Defaults to 1.
        show (bool): Show in a window. Defaults to False.
        out_dir (str, optional): Write images here instead of to the
            visualizer's backends. Defaults to None.
        **kwargs: Drawing options of the visualizer (``resize``, ``text_cfg``).
    """

    def __init__(self, enable: bool = False, interval: int = 1, show: bool = False,
                 out_dir=None, **kwargs):
        super().__init__(enable=enable, interval=interval, show=show, out_dir=out_dir, **kwargs)

    def _draw_samples(self, batch_idx: int, data_batch: dict,
                      data_samples: Sequence[DataSample], step: int = 0) -> None:
        if not self.enable:
            return
        batch_size = len(data_samples)
        start = batch_size * batch_idx
        first = math.ceil(start / self.interval) * self.interval
        for sample_id in range(first, start + batch_size, self.interval):
            sample = data_samples[sample_id - start]
            # Inputs are the loaded uint8 images (BGR from LoadImageWithPIL), before normalisation.
            image = data_batch['inputs'][sample_id - start].permute(1, 2, 0).cpu().numpy()
            image = image[..., ::-1].astype('uint8').copy()
            if 'pred_bboxes' in sample:
                image = draw_predicted_boxes(image, sample, self._visualizer)
            stem = osp.splitext(osp.basename(sample.get('img_path', '')))[0] or 'image'
            name = f'{sample_id:06d}_{stem}'
            draw_args = dict(self.draw_args)
            if self.out_dir is not None:
                draw_args['out_file'] = join_path(self.out_dir, f'{name}.png')
            if 'pred_answer' in sample:
                draw = self._visualizer.visualize_vqa
            elif 'pred_caption' in sample:
                draw = self._visualizer.visualize_image_caption
            else:
                raise KeyError('PredictionVisualizationHook draws `pred_caption` or '
                               f'`pred_answer`; sample {name} has neither.')
            draw(image=image, data_sample=sample, step=step, name=name, **draw_args)
