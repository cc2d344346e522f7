"""Referring expressions of image regions, both ways: ``[refer]`` (expression -> box)
and ``[identify]`` (box -> expression)."""
import math
from numbers import Real
from typing import Any, Tuple

import numpy as np

from ...grounding import coco_to_corners, format_box, to_grid
from ..annotation_files import AnnotationFileError
from ..image_text_dataset import BadSampleError
from .image_instruction_dataset import ImageInstructionDataset, clean_text, draw_instruction

Box = Tuple[float, float, float, float]  # x, y, width, height in pixels


def expect_box(values: Any, path: str, where: str, description: str) -> Box:
    """Four finite numbers (``x, y, width, height``), else :class:`AnnotationFileError`."""
    if not isinstance(values, (list, tuple)) or len(values) != 4 or not all(
            isinstance(v, Real) and not isinstance(v, bool) and math.isfinite(v) for v in values):
        raise AnnotationFileError(path, f'expected {description} as four finite numbers, got '
                                        f'{values!r}', where)
    return tuple(float(v) for v in values)


def box_text(box: Box, image_size: Tuple[int, int]) -> str:
    """``{<x1><y1><x2><y2>}`` of a pixel ``(x, y, width, height)`` box on the 0-100
    grid of an image of ``(width, height)``, truncated as officially.

    Raises:
        BadSampleError: If the box is not inside the image.
    """
    try:
        return format_box(to_grid(coco_to_corners(box), image_size))
    except ValueError as error:
        raise BadSampleError(str(error)) from None


class RegionReferenceDataset(ImageInstructionDataset):
    """Regions with referring expressions, as the official RefCOCO and Visual
    Genome datasets use them.

    Subclasses load data infos holding ``expressions`` (list[str], raw) and
    ``bbox`` (x, y, width, height in pixels of the image), and set
    :attr:`task`. Per sample, one expression is drawn, then one instruction of
    the task's pool (numpy's global RNG, in this order as officially); the
    expression goes through ``blip_caption``; the box is written on the 0-100
    grid of the decoded image (``int(x / W * 100)``).

    - ``task = 'refer'``: instruction e.g. ``'[refer] where is {expression} ?'``
      (one of 7), answer ``'{<x1><y1><x2><y2>}'``;
    - ``task = 'identify'``: instruction e.g. ``'[identify] what is it in {box}'``
      (one of 7), answer the expression.
    """

    task = 'refer'

    def instruction_and_answer(self, data_info: dict,
                               image_size: Tuple[int, int]) -> Tuple[str, str]:
        expressions = data_info['expressions']
        expression = clean_text(expressions[np.random.randint(len(expressions))], 'expression')
        box = box_text(data_info['bbox'], image_size)
        if self.task == 'identify':
            return draw_instruction('identify', box), expression
        return draw_instruction('refer', expression), box
