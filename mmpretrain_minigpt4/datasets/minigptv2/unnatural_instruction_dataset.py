"""Unnatural Instructions, filtered by MiniGPT-v2: text-only instructions and answers."""
from typing import Any, List

from mmpretrain.registry import DATASETS

from ..annotation_files import AnnotationFileError, expect_fields, expect_type, json_path
from .image_instruction_dataset import clean_text
from .json_annotation_dataset import JsonAnnotationDataset, expect_text

INSTANCE_FIELDS = ('instruction_with_input', 'constraints', 'output')


@DATASETS.register_module()
class UnnaturalInstructionDataset(JsonAnnotationDataset):
    """``filtered_unnatural_instruction.json``: ``[{"instruction", "instances":
    [{"instruction_with_input", "input", "constraints": str or null, "output"},
    ...]}, ...]``. There is no image.

    As officially, only the first instance of each entry is used. A sample:
    ``instruction`` the instance's ``instruction_with_input``, followed by
    ``' '`` and its ``constraints`` unless they are null, through
    ``blip_caption``; ``answer`` its ``output`` through ``blip_caption``
    (so lower-cased, without ``. ! " ( ) * # : ; ~`` and cut to 50 words, as
    officially). The official puts no image prompt around the instruction.

    Layout::

        {data_root}/unnatural_instructions/filtered_unnatural_instruction.json

    Data info after loading: ``instruction``, ``answer``,
    ``instruction_with_input``, ``constraints``, ``output`` (as in the file),
    ``key``, ``sample_idx``.

    Args:
        data_root (str): The MiniGPT-v2 dataset root.
        ann_file (str | Sequence[str]): Defaults to
            'unnatural_instructions/filtered_unnatural_instruction.json'.
        pipeline (Sequence[dict]): Transforms. Defaults to ().
        on_bad_sample (str): ``'error'`` or ``'skip'``. Defaults to 'error'.
        **kwargs: Other :class:`mmengine.dataset.BaseDataset` arguments
            (``data_prefix`` is not accepted).
    """

    default_ann_file = 'unnatural_instructions/filtered_unnatural_instruction.json'
    entry_description = 'instructions'

    def parse_annotations(self, content: Any, path: str) -> List[dict]:
        expect_type(content, list, path, '', 'a list of instructions')
        data_list = []
        for position, entry in enumerate(content):
            expect_fields(entry, ('instances', ), path, json_path(position))
            where = json_path(position, 'instances')
            instances = expect_type(entry['instances'], list, path, where, 'a list of instances')
            if not instances:
                raise AnnotationFileError(path, 'no instances', where)
            instance = expect_fields(instances[0], INSTANCE_FIELDS, path,
                                     json_path(position, 'instances', 0))
            constraints = instance['constraints']
            if constraints is not None:
                expect_text(constraints, path, json_path(position, 'instances', 0, 'constraints'))
            data_list.append(dict(
                instruction_with_input=expect_text(
                    instance['instruction_with_input'], path,
                    json_path(position, 'instances', 0, 'instruction_with_input')),
                constraints=constraints,
                output=expect_text(instance['output'], path,
                                   json_path(position, 'instances', 0, 'output')),
                key=json_path(position)))
        return data_list

    def draw_texts(self, data_info: dict) -> dict:
        instruction = data_info['instruction_with_input']
        if data_info['constraints'] is not None:
            instruction = f"{instruction} {data_info['constraints']}"
        return dict(instruction=clean_text(instruction, 'instruction'),
                    answer=clean_text(data_info['output'], 'output'))
