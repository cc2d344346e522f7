"""GQA from the official question files (``{question_id: {"imageId", "question", ...}}``)."""
from typing import List

import mmengine
from mmpretrain.datasets import GQA
from mmpretrain.registry import DATASETS

from ...datasets.annotation_files import (expect_entries, expect_fields, expect_type, json_path,
                                          load_json)


@DATASETS.register_module()
class OfficialGQA(GQA):
    """GQA read from the files the GQA authors release (e.g.
    ``testdev_balanced_questions.json``: a dict from question id to
    ``{"imageId": "n161313", "question", "answer", "fullAnswer", ...}``);
    images are ``<data_prefix>/<imageId>.jpg``.

    mmpretrain's ``GQA`` reads only LAVIS's converted list
    (``[{"image": "n161313.jpg", "question", "answer"}]``); that format is
    accepted too. Samples of the official file carry ``question_id`` and
    ``image_id`` as well.

    Args:
        data_root (str): Root of ``data_prefix`` and ``ann_file``.
        data_prefix (str): The image folder.
        ann_file (str): The question file.
        **kwargs: Other arguments of :class:`mmengine.dataset.BaseDataset`.

    Raises:
        AnnotationFileError: If the file is not JSON, a question lacks a field,
            or there is no question.
    """

    def load_data_list(self) -> List[dict]:
        questions = expect_type(load_json(self.ann_file), (dict, list), self.ann_file, '',
                                "the official GQA dict of questions (or LAVIS's list)")
        expect_entries(questions, self.ann_file, 'questions')
        if isinstance(questions, list):
            return [self._lavis_question(question, json_path(position))
                    for position, question in enumerate(questions)]
        return [self._official_question(question_id, question)
                for question_id, question in questions.items()]

    def _official_question(self, question_id: str, question: dict) -> dict:
        expect_fields(question, ('imageId', 'question', 'answer'), self.ann_file,
                      json_path(question_id))
        return dict(
            question_id=question_id,
            image_id=question['imageId'],
            img_path=mmengine.join_path(self.data_prefix['img_path'],
                                        question['imageId'] + '.jpg'),
            question=question['question'],
            gt_answer=question['answer'])

    def _lavis_question(self, question: dict, where: str) -> dict:
        expect_fields(question, ('image', 'question', 'answer'), self.ann_file, where)
        return dict(
            img_path=mmengine.join_path(self.data_prefix['img_path'], question['image']),
            question=question['question'],
            gt_answer=question['answer'])
