"""VizWiz-VQA with every question and all ten answers, as the official evaluation."""
from collections import Counter
from typing import List

import mmengine
from mmpretrain.datasets import VizWiz
from mmpretrain.registry import DATASETS

from ...datasets.annotation_files import (AnnotationFileError, expect_entries, expect_fields,
                                          expect_type, json_path, load_json)


@DATASETS.register_module()
class VizWizAllQuestions(VizWiz):
    """VizWiz-VQA (``{"image", "question", "answers": [{"answer",
    "answer_confidence"}], "answerable", "answer_type"}`` list) for evaluation.

    mmpretrain's ``VizWiz`` drops unanswerable questions and every answer that
    is 'unanswerable' or not given with confidence 'yes': its accuracy is not
    the benchmark's. Here every question is kept and ``gt_answer`` /
    ``gt_answer_weight`` come from all ten answers, so ``VQAAcc`` scores
    ``min(1, #humans who gave the answer / 3)``, as MiniGPT-v2's VizWiz script
    (the model is asked to reply 'unanswerable' when it cannot tell).
    Test-split entries without ``answers`` get no ground truth.

    Raises:
        AnnotationFileError: If the file is not JSON, a question or answer
            lacks a field, ``answers`` is empty, or there is no question.
    """

    def load_data_list(self) -> List[dict]:
        questions = expect_type(load_json(self.ann_file), list, self.ann_file, '',
                                'the official VizWiz list of questions')
        return [self._question(question, position) for position, question in
                enumerate(expect_entries(questions, self.ann_file, 'questions'))]

    def _question(self, question: dict, position: int) -> dict:
        expect_fields(question, ('image', 'question'), self.ann_file, json_path(position))
        data_info = dict(
            question=question['question'], image_id=question['image'],
            img_path=mmengine.join_path(self.data_prefix['img_path'], question['image']))
        if 'answers' in question:
            answers = expect_type(question['answers'], list, self.ann_file,
                                  json_path(position, 'answers'), 'a list')
            if not answers:
                raise AnnotationFileError(self.ann_file, 'empty list',
                                          json_path(position, 'answers'))
            words = [expect_fields(answer, ('answer',), self.ann_file,
                                   json_path(position, 'answers', i))['answer']
                     for i, answer in enumerate(answers)]
            count = Counter(words)
            data_info['gt_answer'] = list(count)
            data_info['gt_answer_weight'] = [n / len(words) for n in count.values()]
        return data_info
