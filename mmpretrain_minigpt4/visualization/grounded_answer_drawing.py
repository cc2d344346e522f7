"""Draw the boxes of a MiniGPT-v2 grounded answer, labelled with their phrases, on an image.

The boxes come from :func:`~mmpretrain_minigpt4.grounding.parse_grounded_text`
(a :class:`~mmpretrain_minigpt4.grounding.GroundedAnswer`) or from a data
sample's ``pred_bboxes`` / ``pred_phrases``; the drawing is MMEngine's
``Visualizer`` (``draw_bboxes``, ``draw_texts``). Every phrase has one
colour; every box of a phrase is labelled with it, bare boxes (``[refer]``
answers, phrase None) are not labelled.
"""
from typing import List, Optional, Sequence, Tuple

import numpy as np
import torch
from mmengine.visualization import Visualizer
from mmpretrain.structures import DataSample
from mmpretrain.visualization.utils import get_adaptive_scale

from ..grounding import GroundedAnswer

RGB = Tuple[int, int, int]

# matplotlib's 'tab10' colours, distinct from each other, in RGB.
PHRASE_COLOURS: Tuple[RGB, ...] = (
    (31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189),
    (140, 86, 75), (227, 119, 194), (127, 127, 127), (188, 189, 34), (23, 190, 207))
# Line width and label size (matplotlib points) for a 224-px short edge; they grow
# with the image (mmpretrain's ``get_adaptive_scale``).
LINE_WIDTH = 2
FONT_SIZE = 8


def phrase_colours(phrases: Sequence[Optional[str]]) -> List[RGB]:
    """One colour per box: the same for the boxes of one phrase, a new one per new
    phrase in order of appearance (all bare boxes share one)."""
    order = {}
    for phrase in phrases:
        order.setdefault(phrase, len(order))
    return [PHRASE_COLOURS[order[phrase] % len(PHRASE_COLOURS)] for phrase in phrases]


def _label_colour(background: RGB) -> str:
    """Black on light colours, white on dark ones (ITU-R BT.601 luma)."""
    red, green, blue = background
    return 'black' if 0.299 * red + 0.587 * green + 0.114 * blue > 140 else 'white'


def draw_grounded_boxes(image: np.ndarray, boxes, phrases: Sequence[Optional[str]],
                        visualizer: Optional[Visualizer] = None) -> np.ndarray:
    """Draw ``boxes`` with their ``phrases`` as labels.

    Args:
        image (np.ndarray): RGB (H, W, 3) uint8; not modified.
        boxes (array-like): (N, 4) ``x1, y1, x2, y2`` in pixels of ``image``
            (clipped to it).
        phrases (Sequence[str | None]): One per box; None draws no label.
        visualizer (Visualizer, optional): The MMEngine visualizer to draw
            with (e.g. a runner's). Defaults to a new one.

    Returns:
        np.ndarray: The drawn RGB (H, W, 3) uint8 image (``image`` itself when
        there are no boxes).

    Raises:
        ValueError: If the boxes are not (N, 4), their number differs from the
            phrases', or a box has its corners reversed.
    """
    boxes = torch.as_tensor(boxes, dtype=torch.float32).cpu().numpy()
    if boxes.size == 0:
        boxes = boxes.reshape(0, 4)
    if boxes.ndim != 2 or boxes.shape[1] != 4:
        raise ValueError(f'Boxes must be (N, 4) x1, y1, x2, y2; got shape {boxes.shape}.')
    if len(phrases) != len(boxes):
        raise ValueError(f'{len(boxes)} boxes but {len(phrases)} phrases: give one phrase '
                         '(or None) per box.')
    if ((boxes[:, 0] > boxes[:, 2]) | (boxes[:, 1] > boxes[:, 3])).any():
        raise ValueError(f'Boxes need x1 <= x2 and y1 <= y2; got {boxes.tolist()}.')
    if len(boxes) == 0:
        return image
    height, width = image.shape[:2]
    # A box on the image's border (grid value 100) is drawn just inside it, visible.
    boxes = boxes.clip(0, [width - 1, height - 1, width - 1, height - 1])
    if visualizer is None:
        visualizer = Visualizer(name='grounded_answer_drawing')
    visualizer.set_image(image)
    scale = get_adaptive_scale(image.shape[:2])
    colours = phrase_colours(phrases)
    visualizer.draw_bboxes(boxes, edge_colors=colours, line_widths=LINE_WIDTH * scale,
                           alpha=1.0)
    font_size = FONT_SIZE * scale
    label_height = 2 * font_size * visualizer.dpi / 72  # the text and its padding, in pixels
    for box, phrase, colour in zip(boxes, phrases, colours):
        if phrase is None:
            continue
        x1, y1 = float(box[0]), float(box[1])
        # Above the box where there is room, else inside its top edge.
        above = y1 >= label_height
        visualizer.draw_texts(
            phrase, np.array([x1, y1]), font_sizes=font_size, colors=_label_colour(colour),
            vertical_alignments='bottom' if above else 'top',
            bboxes=dict(facecolor=tuple(c / 255 for c in colour), alpha=0.8, pad=0.7,
                        edgecolor='none'))
    return visualizer.get_image()


def draw_grounded_answer(image: np.ndarray, answer: GroundedAnswer,
                         visualizer: Optional[Visualizer] = None) -> np.ndarray:
    """Draw the boxes of ``answer`` (read in pixels of ``image``) on the RGB ``image``."""
    phrases = [phrase.text for phrase in answer.phrases for _ in phrase.boxes]
    return draw_grounded_boxes(image, answer.boxes, phrases, visualizer)


def draw_predicted_boxes(image: np.ndarray, data_sample: DataSample,
                         visualizer: Optional[Visualizer] = None) -> np.ndarray:
    """Draw a sample's ``pred_bboxes`` (pixels of the original image, whose
    ``ori_shape`` the sample has) and ``pred_phrases`` on ``image``, which may
    be that image resized (e.g. the model's 448 x 448 input): the boxes are
    scaled to it.

    Raises:
        KeyError: If the sample has no ``ori_shape``.
    """
    if 'ori_shape' not in data_sample:
        raise KeyError('Drawing `pred_bboxes` needs the sample\'s `ori_shape` (the boxes are '
                       "in pixels of the original image): keep 'ori_shape' in PackInputs' "
                       'meta_keys.')
    ori_height, ori_width = data_sample.ori_shape[:2]
    height, width = image.shape[:2]
    to_image = torch.tensor([width / ori_width, height / ori_height] * 2)
    boxes = torch.as_tensor(data_sample.pred_bboxes, dtype=torch.float32).cpu() * to_image
    return draw_grounded_boxes(image, boxes, data_sample.get('pred_phrases', [None] * len(boxes)),
                               visualizer)
