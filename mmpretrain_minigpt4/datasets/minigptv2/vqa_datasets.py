"""MiniGPT-v2's VQA training sets in LAVIS's format: COCO-VQA, OK-VQA, A-OKVQA and GQA.

A sample's ``instruction`` is one of the two official ``[vqa]`` instructions
around the question, its ``answer`` one of the question's answers, drawn with
its frequency among them as weight; both are cleaned by ``blip_caption``.
"""
import logging
import os.path as osp
from typing import Any, List, Sequence

import numpy as np
from mmengine.fileio import exists
from mmengine.logging import print_log
from mmpretrain.registry import DATASETS

from ..annotation_files import AnnotationFileError, expect_fields
from .image_instruction_dataset import clean_text, draw_instruction
from .json_annotation_dataset import (JsonAnnotationDataset, annotation_list, expect_text,
                                      expect_texts)


def draw_answer(answers: Sequence[str]) -> str:
    """One of ``answers`` drawn with ``np.random``, each distinct answer with its
    frequency among them as probability (the official weights, count / total):
    ``['two', 'two', 'two', '2']`` gives ``'two'`` with probability 0.75.
    """
    distinct = list(dict.fromkeys(answers))
    counts = np.array([answers.count(answer) for answer in distinct], dtype=np.float64)
    return distinct[np.random.choice(len(distinct), p=counts / counts.sum())]


class VQAInstructionDataset(JsonAnnotationDataset):
    """Questions with their answers -> ``[vqa]`` instructions and answers.

    Per read, an answer is drawn (:func:`draw_answer`), then one of the two
    ``[vqa]`` instructions (``'[vqa] {question}'``, ``'[vqa] Based on the
    image, respond to this question with a short answer: {question}'``); the
    question and the answer go through ``blip_caption``.

    Data info after loading: ``instruction``, ``answer``, ``question``,
    ``answers`` (as in the file), ``image_id``, ``img_path``, ``img``,
    ``ori_shape``, ``img_shape``, ``key``, ``sample_idx``.

    The default :meth:`parse_annotations` reads a LAVIS list of
    ``{"question", answer_field, "image"}``.
    """

    answer_field = 'answer'
    entry_description = 'questions'

    def parse_annotations(self, content: Any, path: str) -> List[dict]:
        data_list = []
        for where, entry in annotation_list(content, path):
            expect_fields(entry, ('question', self.answer_field, 'image'), path, where)
            image = expect_text(entry['image'], path, f'{where}.image')
            file_name = self.image_file_name(image)
            data_list.append(dict(
                image_id=osp.splitext(osp.basename(file_name))[0],
                img_path=self.image_path(file_name),
                question=expect_text(entry['question'], path, f'{where}.question'),
                answers=self.entry_answers(entry[self.answer_field], path,
                                           f'{where}.{self.answer_field}'),
                key=where))
        return data_list

    def image_file_name(self, image: str) -> str:
        """The file name, in the image folder, of an entry's ``image``."""
        return image

    def entry_answers(self, value: Any, path: str, where: str) -> List[str]:
        """The answers of an entry's ``answer_field``: a list of strings."""
        return expect_texts(value, path, where)

    def draw_texts(self, data_info: dict) -> dict:
        answer = clean_text(draw_answer(data_info['answers']), 'answer')
        question = clean_text(data_info['question'], 'question')
        return dict(instruction=draw_instruction('vqa', question), answer=answer)


@DATASETS.register_module()
class COCOVQATrainDataset(VQAInstructionDataset):
    """COCO-VQA (VQAv2) training questions, LAVIS's ``vqa_train.json`` and
    ``vqa_val.json``: ``[{"question_id", "question", "answer": [10 answers],
    "image": "train2014/COCO_train2014_000000458752.jpg"}, ...]``.

    As officially, images are looked up by file name in one folder (the
    official's ``{vis_root}/{basename of image}``), and questions whose image
    is not there are dropped at load time: with the COCO train2014 images only,
    which the official README downloads, that drops all of ``vqa_val.json``.

    Layout (``data_root`` is the MiniGPT-v2 dataset root of the official
    README)::

        {data_root}/vqav2/vqa_train.json
        {data_root}/vqav2/vqa_val.json
        {data_root}/coco/images/COCO_train2014_{id:012}.jpg

    ``image_id`` is the image's file name without extension.

    Args:
        data_root (str): The MiniGPT-v2 dataset root.
        ann_file (str | Sequence[str]): Defaults to
            ``('vqav2/vqa_train.json', 'vqav2/vqa_val.json')``.
        data_prefix (dict): Defaults to ``dict(img_path='coco/images')``.
        drop_missing_images (bool): Drop the questions whose image file does
            not exist (official). Defaults to True; with False they are bad
            samples (see ``on_bad_sample``).
        **kwargs: Other :class:`JsonAnnotationDataset` arguments (``pipeline``,
            ``on_bad_sample``, ...).

    Raises:
        AnnotationFileError: Also if no question is left after dropping.
    """

    default_ann_file = ('vqav2/vqa_train.json', 'vqav2/vqa_val.json')
    default_img_folder = 'coco/images'

    def __init__(self, *args, drop_missing_images: bool = True, **kwargs):
        self.drop_missing_images = drop_missing_images
        super().__init__(*args, **kwargs)

    def image_file_name(self, image: str) -> str:
        return osp.basename(image)

    def load_data_list(self) -> List[dict]:
        data_list = super().load_data_list()
        if not self.drop_missing_images:
            return data_list
        present = {path for path in {info['img_path'] for info in data_list} if exists(path)}
        kept = [info for info in data_list if info['img_path'] in present]
        folder = self.data_prefix['img_path']
        if not kept:
            raise AnnotationFileError(
                ', '.join(self.ann_files),
                f'no question has its image in {folder}: the dataset would be empty')
        if len(kept) < len(data_list):
            print_log(f'{type(self).__name__}: dropped {len(data_list) - len(kept)} of '
                      f'{len(data_list)} questions whose image is not in {folder} (as the '
                      'official does).', logger='current', level=logging.INFO)
        return kept


@DATASETS.register_module()
class OKVQATrainDataset(COCOVQATrainDataset):
    """OK-VQA training questions, LAVIS's ``okvqa_train.json`` (the COCO-VQA
    format; the official builds it with the COCO-VQA dataset class).

    Layout::

        {data_root}/okvqa/okvqa_train.json
        {data_root}/coco/images/COCO_train2014_{id:012}.jpg

    Args:
        ann_file (str | Sequence[str]): Defaults to 'okvqa/okvqa_train.json'.
        data_prefix (dict): Defaults to ``dict(img_path='coco/images')``.
        drop_missing_images (bool): Defaults to True (official).
        **kwargs: :class:`COCOVQATrainDataset` arguments.
    """

    default_ann_file = 'okvqa/okvqa_train.json'


@DATASETS.register_module()
class AOKVQATrainDataset(COCOVQATrainDataset):
    """A-OKVQA training questions, LAVIS's ``aokvqa_v1p0_train.json``:
    ``[{"question", "direct_answers": [10 answers], "choices",
    "correct_choice_idx", "rationales", "image": "train2014/COCO_...jpg"}, ...]``.

    As officially, the answer is drawn from ``direct_answers``; the choices
    and rationales are not used. Images and dropping as
    :class:`COCOVQATrainDataset`.

    Layout::

        {data_root}/aokvqa/aokvqa_v1p0_train.json
        {data_root}/coco/images/COCO_train2014_{id:012}.jpg

    Args:
        ann_file (str | Sequence[str]): Defaults to
            'aokvqa/aokvqa_v1p0_train.json'.
        data_prefix (dict): Defaults to ``dict(img_path='coco/images')``.
        drop_missing_images (bool): Defaults to True (official).
        **kwargs: :class:`COCOVQATrainDataset` arguments.
    """

    default_ann_file = 'aokvqa/aokvqa_v1p0_train.json'
    answer_field = 'direct_answers'


@DATASETS.register_module()
class GQATrainDataset(VQAInstructionDataset):
    """GQA balanced training questions, LAVIS's ``train_balanced_questions.json``:
    ``[{"question_id", "question", "answer": "yes", "image": "2354786.jpg"}, ...]``
    (one answer per question).

    Layout::

        {data_root}/gqa/train_balanced_questions.json
        {data_root}/gqa/images/{image}

    ``image_id`` is the image's file name without extension.

    Args:
        data_root (str): The MiniGPT-v2 dataset root.
        ann_file (str | Sequence[str]): Defaults to
            'gqa/train_balanced_questions.json'.
        data_prefix (dict): Defaults to ``dict(img_path='gqa/images')``.
        **kwargs: Other :class:`JsonAnnotationDataset` arguments.
    """

    default_ann_file = 'gqa/train_balanced_questions.json'
    default_img_folder = 'gqa/images'

    def entry_answers(self, value: Any, path: str, where: str) -> List[str]:
        return [expect_text(value, path, where)]
