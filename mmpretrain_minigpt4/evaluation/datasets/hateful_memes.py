"""Hateful Memes from its released JSON-lines files (`{"id", "img", "label", "text"}` lines)."""
from typing import List

import mmengine
from mmpretrain.datasets import BaseDataset
from mmpretrain.registry import DATASETS

from ...datasets.annotation_files import (AnnotationFileError, expect_entries, expect_fields,
                                          expect_type, load_json_lines)


@DATASETS.register_module()
class HatefulMemes(BaseDataset):
    """The Hateful Memes challenge (e.g. ``dev.jsonl``: one ``{"id": 42953,
    "img": "img/42953.png", "label": 0, "text": "its their character not
    their color that matters"}`` per line); images are
    ``<data_prefix>/<img>``.

    Samples hold ``question`` (the meme's text, which the prompt quotes),
    ``gt_label`` (1 hateful, 0 not; absent in the unlabelled test files),
    ``question_id`` / ``image_id`` (the meme's id) and ``img_path``.

    Raises:
        AnnotationFileError: If a line is not JSON, a meme lacks a field, its
            text is not a string or its label is not 0 or 1, or there is none.
    """

    def load_data_list(self) -> List[dict]:
        rows = expect_entries(load_json_lines(self.ann_file), self.ann_file, 'memes')
        return [self._meme(row, str(number)) for number, row in rows]

    def _meme(self, row: dict, where: str) -> dict:
        expect_fields(row, ('id', 'img', 'text'), self.ann_file, where)
        data_info = dict(
            question_id=row['id'],
            image_id=row['id'],
            img_path=mmengine.join_path(self.data_prefix['img_path'],
                                        expect_type(row['img'], str, self.ann_file, where,
                                                    'an image path in "img"')),
            question=expect_type(row['text'], str, self.ann_file, where, 'a string in "text"'))
        if 'label' in row:
            if row['label'] not in (0, 1) or isinstance(row['label'], bool):
                raise AnnotationFileError(self.ann_file,
                                          f'"label" is {row["label"]!r}, not 0 or 1', where)
            data_info['gt_label'] = row['label']
        return data_info
