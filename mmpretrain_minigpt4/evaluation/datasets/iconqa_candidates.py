"""IconQA multiple-choice (choose_txt) questions whose answer is ranked among their candidates."""
from typing import Any, List, Optional

import mmengine
from mmengine.fileio import list_dir_or_file
from mmpretrain.datasets import IconQA
from mmpretrain.registry import DATASETS

from ...datasets.annotation_files import (AnnotationFileError, expect_entries, expect_fields,
                                          expect_type, json_path, load_json)


@DATASETS.register_module()
class IconQACandidates(IconQA):
    """IconQA's ``choose_txt`` questions with their choices as ``candidates``,
    for ranking the choices by the model's loss (MiniGPT-v2's ``iconvqa``).

    Two layouts are read:

    - the IconQA release (``ann_file=''``, as mmpretrain's ``IconQA``):
      ``<data_prefix>/<pid>/data.json`` (``{"question", "choices",
      "answer": <index>, ...}``) beside ``image.png``, e.g. ``data_prefix``
      ``iconqa/val/choose_txt``; problems in the order of their ids;
    - MiniGPT-v2's list (``ann_file``, e.g. ``choose_text_val.json``):
      ``[{"image_id": "<pid>", "question", "choices", "answer": <index>}]``,
      images ``<data_prefix>/<image_id>/image.png``.

    Samples hold ``question``, ``candidates`` (the choices), ``gt_answer``
    (the right choice), ``gt_answer_index``, ``question_id`` / ``image_id``
    (the problem id) and ``img_path``.

    Raises:
        AnnotationFileError: If a file is not JSON, a problem lacks a field,
            its choices are not a non-empty list of strings, its answer is no
            index of them, or there is no problem.
    """

    def load_data_list(self) -> List[dict]:
        if self.ann_file:
            problems = expect_type(load_json(self.ann_file), list, self.ann_file, '',
                                   "MiniGPT-v2's list of IconQA problems")
            expect_entries(problems, self.ann_file, 'problems')
            return [self._problem(problem, self.ann_file, json_path(position))
                    for position, problem in enumerate(problems)]
        folder = self.data_prefix['img_path']
        ids = sorted(list_dir_or_file(folder, list_file=False),
                     key=lambda pid: (len(pid), pid))  # numeric ids in numeric order
        expect_entries(ids, folder, 'problem folders')
        data_list = []
        for pid in ids:
            path = mmengine.join_path(folder, pid, 'data.json')
            data_list.append(self._problem(load_json(path), path, '', pid))
        return data_list

    def _problem(self, problem: Any, path: str, where: str, pid: Optional[str] = None) -> dict:
        """One problem; its id is ``pid`` (its folder) or its ``image_id`` field."""
        fields = ('question', 'choices', 'answer') + (('image_id', ) if pid is None else ())
        expect_fields(problem, fields, path, where)
        choices = problem['choices']
        if not (isinstance(choices, list) and choices
                and all(isinstance(c, str) and c.strip() for c in choices)):
            raise AnnotationFileError(path, f'expected a non-empty list of non-empty strings, '
                                      f'got {choices!r}', _field(where, 'choices'))
        answer = problem['answer']
        if not (isinstance(answer, int) and not isinstance(answer, bool)
                and 0 <= answer < len(choices)):
            raise AnnotationFileError(path, f'expected the index of a choice (0 to '
                                      f'{len(choices) - 1}), got {answer!r}',
                                      _field(where, 'answer'))
        pid = str(problem['image_id']) if pid is None else pid
        return dict(
            question_id=pid,
            image_id=pid,
            img_path=mmengine.join_path(self.data_prefix['img_path'], pid, 'image.png'),
            question=expect_type(problem['question'], str, path, _field(where, 'question'),
                                 'a string'),
            candidates=list(choices),
            gt_answer=choices[answer],
            gt_answer_index=answer)


def _field(where: str, field: str) -> str:
    return f'{where}.{field}' if where else field
