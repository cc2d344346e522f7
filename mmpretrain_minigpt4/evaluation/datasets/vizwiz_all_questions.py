"""VizWiz-VQA with every question and all ten answers, as the official evaluation."""
from collections import Counter
from typing import List

import mmengine
from mmpretrain.datasets import VizWiz
from mmpretrain.registry import DATASETS


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
    """

    def load_data_list(self) -> List[dict]:
        annotations = mmengine.load(self.ann_file)
        if not isinstance(annotations, list):
            raise TypeError(f'{self.ann_file}: expected the official VizWiz list of questions, '
                            f'got {type(annotations).__name__}.')
        data_list = []
        for ann in annotations:
            data_info = dict(
                question=ann['question'], image_id=ann['image'],
                img_path=mmengine.join_path(self.data_prefix['img_path'], ann['image']))
            if 'answers' in ann:
                answers = [item['answer'] for item in ann['answers']]
                if not answers:
                    raise ValueError(
                        f'{self.ann_file}: {ann["image"]} has an empty `answers` list.')
                count = Counter(answers)
                data_info['gt_answer'] = list(count)
                data_info['gt_answer_weight'] = [n / len(answers) for n in count.values()]
            data_list.append(data_info)
        return data_list
