"""RefCOCO / RefCOCO+ / RefCOCOg from MiniGPT-v2's ``eval_data/{dataset}_{split}.json`` files."""
import numbers
import re
from typing import Any, List

import mmengine
import numpy as np
from mmpretrain.datasets import BaseDataset
from mmpretrain.registry import DATASETS

from ...datasets.annotation_files import (AnnotationFileError, expect_entries, expect_fields,
                                          expect_type, json_path, load_json)

# "COCO_train2014_000000580957_4": the image's file name, then the referred object.
_IMAGE_NAME = re.compile(r'COCO_[a-z]+\d{4}_\d{12}')


@DATASETS.register_module()
class MiniGPTv2RefCOCO(BaseDataset):
    """Referring expressions as MiniGPT-v2's evaluation files list them
    (``eval_scripts/eval_data/refcoco_val.json`` etc.: a list of ``{"img_id":
    "COCO_train2014_000000580957_4", "sents": "dish in top right corner",
    "bbox": [x, y, w, h], "height": 428, "width": 640}``, one entry per
    expression); images are ``<data_prefix>/COCO_train2014_<12 digits>.jpg``.

    Each expression is one sample: ``question`` (the expression),
    ``gt_bboxes`` (1, 4) float64 ``x1, y1, x2, y2`` in pixels of the original
    image, ``image_id`` (the image's file name without ``.jpg``),
    ``question_id`` (the entry's position in the file) and ``img_path``. The
    official ``img_id`` names the referred object (image + object suffix), so
    several expressions share it; ``RefCOCOAccuracy`` scores each one.

    The box is in the pixels of the annotated image and the model's answer is
    on a grid of the image read, so the image read must have the entry's
    ``height`` x ``width`` (the original COCO file, not a resized copy):
    :meth:`prepare_data` checks the packed ``ori_shape``.

    Raises:
        AnnotationFileError: If the file is not a JSON list, an entry lacks a
            field, has a wrong type, an ``img_id`` that names no COCO image or
            a box that is not four numbers, there is no entry, or (when
            preparing a sample) the image's size differs from the entry's.
    """

    def load_data_list(self) -> List[dict]:
        entries = expect_type(load_json(self.ann_file), list, self.ann_file, '',
                              "MiniGPT-v2's list of referring expressions")
        return [self._expression(entry, position) for position, entry in
                enumerate(expect_entries(entries, self.ann_file, 'expressions'))]

    def _expression(self, entry: Any, position: int) -> dict:
        path = self.ann_file
        expect_fields(entry, ('img_id', 'sents', 'bbox', 'height', 'width'), path,
                      json_path(position))
        image = _IMAGE_NAME.match(expect_type(entry['img_id'], str, path,
                                              json_path(position, 'img_id'), 'a string'))
        if image is None:
            raise AnnotationFileError(path, f'"img_id" {entry["img_id"]!r} does not start with '
                                      'a COCO image name (COCO_train2014_<12 digits>)',
                                      json_path(position, 'img_id'))
        sentence = expect_type(entry['sents'], str, path, json_path(position, 'sents'),
                               'a string (one expression per entry)')
        box = entry['bbox']
        if not (isinstance(box, list) and len(box) == 4
                and all(_is_number(v) for v in box)):
            raise AnnotationFileError(path, f'expected four numbers [x, y, w, h], got {box!r}',
                                      json_path(position, 'bbox'))
        for key in ('height', 'width'):
            if not (isinstance(entry[key], int) and entry[key] > 0):
                raise AnnotationFileError(path, f'expected a positive integer, got '
                                          f'{entry[key]!r}', json_path(position, key))
        x, y, w, h = (float(v) for v in box)
        return dict(
            question_id=position,
            image_id=image.group(0),
            img_path=mmengine.join_path(self.data_prefix['img_path'], image.group(0) + '.jpg'),
            question=sentence,
            gt_bboxes=np.array([[x, y, x + w, y + h]], dtype=np.float64),
            height=entry['height'],
            width=entry['width'])

    def prepare_data(self, idx: int) -> Any:
        """The pipeline's output for one expression, its image's size checked
        against the entry's (when the pipeline loads the image)."""
        results = super().prepare_data(idx)
        if not isinstance(results, dict):  # a transform dropped the sample
            return results
        sample = results.get('data_samples')
        shape = results.get('ori_shape') if sample is None else sample.get('ori_shape')
        info = self.get_data_info(idx)
        if shape is not None and tuple(shape[:2]) != (info['height'], info['width']):
            raise AnnotationFileError(
                self.ann_file, f'{info["img_path"]} is {shape[1]} x {shape[0]} pixels, the entry '
                f'says {info["width"]} x {info["height"]}: the box would not fit the image (use '
                'the original COCO file)', json_path(info['question_id']))
        return results


def _is_number(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)
