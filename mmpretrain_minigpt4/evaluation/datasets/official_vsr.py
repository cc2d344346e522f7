"""VSR from its released JSON-lines files (``{"image", "caption", "label", ...}`` per line)."""
from typing import List

import mmengine
from mmpretrain.datasets import VSR
from mmpretrain.registry import DATASETS

from ...datasets.annotation_files import (AnnotationFileError, expect_entries, expect_fields,
                                          expect_type, json_path, load_json, load_json_lines)


@DATASETS.register_module()
class OfficialVSR(VSR):
    """Visual Spatial Reasoning read from the released splits (e.g.
    ``zeroshot/test.jsonl`` of cambridgeltl/visual-spatial-reasoning: one
    ``{"image": "000000085637.jpg", "caption": "The umbrella is under the bed.",
    "label": 0, "relation": "under", ...}`` per line); images are
    ``<data_prefix>/<image>`` (COCO 2017 images).

    mmpretrain's ``VSR`` reads only a converted list
    (``[{"image", "question", "answer": bool}]``); that format is accepted
    too. The caption becomes ``question``, the label ``gt_answer``
    ('yes' for 1, 'no' for 0), as in mmpretrain.

    Args:
        data_root (str): Root of ``data_prefix`` and ``ann_file``.
        data_prefix (str): The image folder.
        ann_file (str): A ``.jsonl`` split (or mmpretrain's ``.json`` list).
        **kwargs: Other arguments of :class:`mmengine.dataset.BaseDataset`.

    Raises:
        AnnotationFileError: If a line (or the file) is not JSON, a statement
            lacks a field or has no 0/1 label, or there is none.
    """

    def load_data_list(self) -> List[dict]:
        if self.ann_file.endswith('.jsonl'):
            rows = load_json_lines(self.ann_file)
            return [self._released_statement(row, str(number))
                    for number, row in expect_entries(rows, self.ann_file, 'statements')]
        rows = expect_type(load_json(self.ann_file), list, self.ann_file, '',
                           "mmpretrain's list of statements")
        return [self._converted_statement(row, json_path(position))
                for position, row in enumerate(expect_entries(rows, self.ann_file, 'statements'))]

    def _released_statement(self, row: dict, where: str) -> dict:
        expect_fields(row, ('image', 'caption', 'label'), self.ann_file, where)
        if row['label'] not in (0, 1):
            raise AnnotationFileError(self.ann_file, f'"label" is {row["label"]!r}, not 0 or 1',
                                      where)
        return dict(
            img_path=mmengine.join_path(self.data_prefix['img_path'], row['image']),
            image_id=row['image'],
            question=row['caption'],
            gt_answer='yes' if row['label'] == 1 else 'no',
            relation=row.get('relation'))

    def _converted_statement(self, row: dict, where: str) -> dict:
        expect_fields(row, ('image', 'question', 'answer'), self.ann_file, where)
        return dict(
            img_path=mmengine.join_path(self.data_prefix['img_path'], row['image']),
            question=row['question'],
            gt_answer='yes' if row['answer'] else 'no')
