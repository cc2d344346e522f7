"""OCR-VQA training questions about book covers (``dataset.json``, split 1)."""
import os.path as osp
from typing import Any, List

from mmpretrain.registry import DATASETS

from ..annotation_files import AnnotationFileError, expect_fields, expect_type, json_path
from .json_annotation_dataset import expect_text
from .vqa_datasets import VQAInstructionDataset

TRAIN_SPLIT = 1  # dataset.json's split: 1 train, 2 validation, 3 test


@DATASETS.register_module()
class OCRVQATrainDataset(VQAInstructionDataset):
    """OCR-VQA's ``dataset.json``: ``{book id: {"imageURL": "http://.../51lW5.jpg",
    "questions": [...], "answers": [...], "title", "genre", "split": 1}, ...}``.

    One sample per question of the books of split 1 (the official trains on
    these only), with its one answer; instructions and cleaning as
    :class:`VQAInstructionDataset`. A book's image is ``{book id}{extension
    of imageURL}`` (as the official's ``loadDataset.py`` saves it).

    Layout::

        {data_root}/ocrvqa/dataset.json
        {data_root}/ocrvqa/images/{book id}.jpg

    ``image_id`` is the book id.

    Args:
        data_root (str): The MiniGPT-v2 dataset root.
        ann_file (str | Sequence[str]): Defaults to 'ocrvqa/dataset.json'.
        data_prefix (dict): Defaults to ``dict(img_path='ocrvqa/images')``.
        **kwargs: Other :class:`JsonAnnotationDataset` arguments.

    Raises:
        AnnotationFileError: Also if a book of split 1 has not as many answers
            as questions, or no book is of split 1.
    """

    default_ann_file = 'ocrvqa/dataset.json'
    default_img_folder = 'ocrvqa/images'
    entry_description = f'questions of split {TRAIN_SPLIT}'

    def parse_annotations(self, content: Any, path: str) -> List[dict]:
        expect_type(content, dict, path, '', 'an object of books by id')
        data_list = []
        for book_id, book in content.items():
            where = json_path(book_id)
            if expect_fields(book, ('split', ), path, where)['split'] != TRAIN_SPLIT:
                continue
            expect_fields(book, ('imageURL', 'questions', 'answers'), path, where)
            url = expect_text(book['imageURL'], path, json_path(book_id, 'imageURL'))
            questions = self._texts(book, 'questions', path, book_id)
            answers = self._texts(book, 'answers', path, book_id)
            if len(questions) != len(answers):
                raise AnnotationFileError(
                    path, f'{len(questions)} questions but {len(answers)} answers', where)
            img_path = self.image_path(book_id + osp.splitext(url)[1])
            data_list.extend(
                dict(image_id=book_id, img_path=img_path, question=question, answers=[answer],
                     key=json_path(book_id, 'questions', index))
                for index, (question, answer) in enumerate(zip(questions, answers)))
        return data_list

    @staticmethod
    def _texts(book: dict, field: str, path: str, book_id: str) -> List[str]:
        texts = expect_type(book[field], list, path, json_path(book_id, field), 'a list of strings')
        for index, text in enumerate(texts):
            expect_text(text, path, json_path(book_id, field, index))
        return texts
