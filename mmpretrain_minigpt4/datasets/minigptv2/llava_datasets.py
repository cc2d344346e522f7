"""LLaVA-Instruct-150K's detailed descriptions and complex reasoning: single-turn samples,
and the reading of LLaVA's conversation format that the multi-turn datasets share."""
from typing import Any, List, Union

from mmpretrain.registry import DATASETS

from ..annotation_files import AnnotationFileError, expect_fields, expect_type, json_path
from .image_instruction_dataset import clean_text, require_text
from .json_annotation_dataset import JsonAnnotationDataset, expect_text


def first_question(value: str) -> str:
    """A conversation's first (human) turn as the official uses it: ``'<image>'`` and
    newlines removed, then stripped (``'<image>\\nWhat is this?'`` -> ``'What is this?'``)."""
    return value.replace('<image>', '').replace('\n', '').strip()


def coco_train_image(image_id: Union[str, int]) -> str:
    """The COCO train2014 file of a LLaVA ``id``: ``COCO_train2014_{id}.jpg`` (LLaVA's ids
    are 12-digit strings; an integer is zero-padded to 12 digits)."""
    if isinstance(image_id, int):
        return f'COCO_train2014_{image_id:012d}.jpg'
    return f'COCO_train2014_{image_id}.jpg'


class LlavaFormatDataset(JsonAnnotationDataset):
    """Conversations in LLaVA's format: ``[{"id": "000000442786", "conversations":
    [{"from": "human", "value": "<image>\\nWhat ...?"}, {"from": "gpt", "value":
    "..."}, ...]}, ...]`` about the image ``coco/images/COCO_train2014_{id}.jpg``.

    As officially, turns are taken by position (human first, then
    alternating); ``from`` is not read. With ``whole_conversation`` every turn
    is used (their number must be even); else only the first two.

    Data info after loading (besides the texts of :meth:`draw_texts`):
    ``turns`` (the ``value`` of the used turns), ``image_id`` (the ``id``),
    ``img_path``, ``img``, ``ori_shape``, ``img_shape``, ``key``,
    ``sample_idx``.
    """

    default_img_folder = 'coco/images'
    entry_description = 'conversations'
    whole_conversation = False

    def parse_annotations(self, content: Any, path: str) -> List[dict]:
        expect_type(content, list, path, '', 'a list of conversations')
        data_list = []
        for position, entry in enumerate(content):
            expect_fields(entry, ('id', 'conversations'), path, json_path(position))
            image_id = expect_type(entry['id'], (str, int), path, json_path(position, 'id'),
                                   'a string or an integer')
            data_list.append(dict(
                image_id=image_id,
                img_path=self.image_path(coco_train_image(image_id)),
                turns=self._turns(entry['conversations'], path, position),
                key=json_path(position)))
        return data_list

    def _turns(self, turns: Any, path: str, position: int) -> List[str]:
        """The ``value`` of each used turn."""
        where = json_path(position, 'conversations')
        expect_type(turns, list, path, where, 'a list of turns')
        if len(turns) < 2 or (self.whole_conversation and len(turns) % 2):
            expected = 'an even number of' if self.whole_conversation else 'at least 2'
            raise AnnotationFileError(
                path, f'expected {expected} turns (human first, then alternating), '
                      f'got {len(turns)}', where)
        used = turns if self.whole_conversation else turns[:2]
        return [
            expect_text(expect_fields(turn, ('value', ), path,
                                      json_path(position, 'conversations', index))['value'],
                        path, json_path(position, 'conversations', index, 'value'))
            for index, turn in enumerate(used)
        ]


@DATASETS.register_module()
class LlavaDetailDataset(LlavaFormatDataset):
    """LLaVA's detailed image descriptions (``detail_23k.json``), one turn each.

    A sample: ``instruction`` the first turn as :func:`first_question` gives
    it, through ``blip_caption`` (``'<image>\\nDescribe the image in detail.'``
    -> ``'describe the image in detail'``); ``answer`` the second turn as it
    is. Later turns are not used (official).

    Layout::

        {data_root}/llava/detail_23k.json
        {data_root}/coco/images/COCO_train2014_{id}.jpg

    Args:
        data_root (str): The MiniGPT-v2 dataset root.
        ann_file (str | Sequence[str]): Defaults to 'llava/detail_23k.json'.
        data_prefix (dict): Defaults to ``dict(img_path='coco/images')``.
        **kwargs: Other :class:`JsonAnnotationDataset` arguments.
    """

    default_ann_file = 'llava/detail_23k.json'

    def draw_texts(self, data_info: dict) -> dict:
        question, answer = data_info['turns']
        return dict(instruction=clean_text(first_question(question), 'question'),
                    answer=require_text(answer, 'answer'))


@DATASETS.register_module()
class LlavaReasonDataset(LlavaDetailDataset):
    """LLaVA's complex reasoning (``complex_reasoning_77k.json``), one turn each;
    samples as :class:`LlavaDetailDataset`.

    Layout::

        {data_root}/llava/complex_reasoning_77k.json
        {data_root}/coco/images/COCO_train2014_{id}.jpg

    Args:
        ann_file (str | Sequence[str]): Defaults to
            'llava/complex_reasoning_77k.json'.
        data_prefix (dict): Defaults to ``dict(img_path='coco/images')``.
        **kwargs: :class:`LlavaDetailDataset` arguments.
    """

    default_ann_file = 'llava/complex_reasoning_77k.json'
