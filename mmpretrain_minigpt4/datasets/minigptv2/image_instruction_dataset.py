"""The base of MiniGPT-v2's stage-3 datasets: an image, an instruction, an answer; and the
text rules they share (instruction pools, ``blip_caption`` cleaning, blank texts)."""
from typing import Tuple

import numpy as np
from mmengine.fileio import exists, get, join_path
from mmengine.utils import is_abs

from ...grounding import INSTRUCTION_POOLS, task_instruction
from ..image_text_dataset import BadSampleError, ImageTextDataset, decode_image
from ..transforms.blip_caption import blip_caption


def draw_instruction(task: str, task_input: str = '') -> str:
    """One of the official instructions of ``task`` (see
    :data:`~mmpretrain_minigpt4.grounding.INSTRUCTION_POOLS`), drawn with numpy's
    global RNG (which MMEngine seeds), with ``task_input`` filled in."""
    return task_instruction(task, np.random.randint(len(INSTRUCTION_POOLS[task])), task_input)


def clean_text(text: str, field: str) -> str:
    """``text`` through the official ``blip_caption`` processor.

    Raises:
        BadSampleError: If nothing is left (e.g. ``'...'``), naming ``field``.
    """
    cleaned = blip_caption(text)
    if not cleaned:
        raise BadSampleError(f'{field} {text!r} is empty after blip_caption')
    return cleaned


def require_text(text: str, field: str) -> str:
    """``text`` (used as it is, not cleaned), else :class:`BadSampleError` naming
    ``field`` if it is empty or blank."""
    if not text.strip():
        raise BadSampleError(f'empty {field}')
    return text


class ImageInstructionDataset(ImageTextDataset):
    """Samples of an image, an instruction and its answer, as MiniGPT-v2 trains on.

    The instruction is the user's text without the image prompt (e.g.
    ``'[refer] where is the cat ?'``); the model wraps it with the image in its
    template and appends ``end_sym`` to the answer. Pack with
    ``dict(type='PackInputs', algorithm_keys=['instruction', 'answer'],
    meta_keys=['image_id', 'img_path'])``.

    Subclasses load data infos holding ``image_id``, ``img_path`` and ``key``
    (where the sample is in its file, for messages), and implement
    :meth:`instruction_and_answer`, which may draw random choices with numpy's
    global RNG. Images are decoded when a sample is loaded.

    Data info after loading: the loaded fields plus ``img`` (H, W, 3) BGR
    uint8, ``instruction``, ``answer``, ``ori_shape`` and ``img_shape``
    ``(H, W)``, ``sample_idx``.

    Args:
        on_bad_sample (str): ``'error'`` or ``'skip'``, see
            :class:`~mmpretrain_minigpt4.datasets.ImageTextDataset`.
        **kwargs: :class:`mmengine.dataset.BaseDataset` arguments.
    """

    def instruction_and_answer(self, data_info: dict,
                               image_size: Tuple[int, int]) -> Tuple[str, str]:
        """The sample's ``(instruction, answer)`` for its image of ``(width, height)``.

        Raises:
            BadSampleError: If the sample cannot be used (e.g. a box outside
                the image).
        """
        raise NotImplementedError

    def join_data_root(self, path: str) -> str:
        """``path`` under ``data_root`` unless it is absolute (as ``ann_file``)."""
        return path if is_abs(path) or not self.data_root else join_path(self.data_root, path)

    def image_path(self, file_name: str) -> str:
        """The path of an image file of the image folder (``data_prefix['img_path']``)."""
        return join_path(self.data_prefix['img_path'], file_name)

    @staticmethod
    def require_file(path: str, description: str) -> str:
        """``path``, else :class:`FileNotFoundError` naming it and what it is."""
        if not exists(path):
            raise FileNotFoundError(f'{description} not found: {path} (set `data_root` and the '
                                    'file arguments).')
        return path

    def sample_location(self, data_info: dict) -> str:
        return f"{self.ann_file} ({data_info['key']})"

    def read_image(self, data_info: dict) -> dict:
        """``img`` (H, W, 3) BGR uint8, ``ori_shape`` and ``img_shape`` ``(H, W)`` of
        the image file ``data_info['img_path']``.

        Raises:
            BadSampleError: If the file is missing or not a complete image.
        """
        img_path = data_info['img_path']
        if not exists(img_path):
            raise BadSampleError(f'image file not found: {img_path}',
                                 self.sample_location(data_info))
        img = decode_image(get(img_path), f"{img_path} ({data_info['key']})")
        return dict(img=img, ori_shape=img.shape[:2], img_shape=img.shape[:2])

    def load_sample(self, data_info: dict) -> dict:
        image = self.read_image(data_info)
        height, width = image['ori_shape']
        # The official datasets write boxes on the grid of the image as decoded.
        instruction, answer = self.instruction_and_answer(data_info, (width, height))
        return dict(data_info, **image, instruction=instruction, answer=answer)
