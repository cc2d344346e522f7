"""GQA from the official question files (``{question_id: {"imageId", "question", ...}}``)."""
from typing import List

import mmengine
from mmpretrain.datasets import GQA
from mmpretrain.registry import DATASETS


@DATASETS.register_module()
class OfficialGQA(GQA):
    """GQA read from the files the GQA authors release (e.g.
    ``testdev_balanced_questions.json``: a dict from question id to
    ``{"imageId": "n161313", "question", "answer", "fullAnswer", ...}``);
    images are ``<data_prefix>/<imageId>.jpg``.

    mmpretrain's ``GQA`` reads only LAVIS's converted list
    (``[{"image": "n161313.jpg", "question", "answer"}]``); that format is
    accepted too. Samples carry ``question_id`` and ``image_id`` as well.

    Args:
        data_root (str): Root of ``data_prefix`` and ``ann_file``.
        data_prefix (str): The image folder.
        ann_file (str): The question file.
        **kwargs: Other arguments of :class:`mmengine.dataset.BaseDataset`.
    """

    def load_data_list(self) -> List[dict]:
        questions = mmengine.load(self.ann_file)
        if isinstance(questions, list):
            return super().load_data_list()
        if not isinstance(questions, dict):
            raise TypeError(f'{self.ann_file}: expected the official GQA dict of questions (or '
                            f"LAVIS's list), got {type(questions).__name__}.")
        data_list = []
        for question_id, question in questions.items():
            missing = {'imageId', 'question', 'answer'} - set(question)
            if missing:
                raise KeyError(f'{self.ann_file}: question {question_id} lacks {sorted(missing)}.')
            data_list.append(dict(
                question_id=question_id,
                image_id=question['imageId'],
                img_path=mmengine.join_path(self.data_prefix['img_path'],
                                            question['imageId'] + '.jpg'),
                question=question['question'],
                gt_answer=question['answer']))
        return data_list
