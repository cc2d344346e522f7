"""mmpretrain's caption and VQA inferencers, made safe for MiniGPT-4.

On top of mmpretrain's classes (which build the model, run the config's test
pipeline and batch with ``batch_size``):

- before anything is built, a plugin model name is checked for its local
  files (checkpoint and LLM directory), with errors naming the variable to set;
- images may be paths, PIL images (RGB) or arrays (BGR, as everywhere in
  mmcv / mmpretrain); a missing file or a file that is not an image is a clear
  error instead of mmcv's ``None``; drawn results (``show_dir``) keep their
  colours (mmpretrain draws arrays as RGB but reads them as BGR).
"""
import os.path as osp
from pathlib import Path
from typing import Union

import numpy as np
from mmcv.image import imread
from mmengine.config import Config
from mmengine.dataset import default_collate
from mmpretrain.apis import (ImageCaptionInferencer, ModelHub,
                             VisualQuestionAnsweringInferencer)
from PIL import Image

from .model_hub import is_minigpt4_model_name

ImageInput = Union[str, Path, np.ndarray, Image.Image]


def read_image(image: ImageInput) -> np.ndarray:
    """A path, a PIL image (RGB) or an array (BGR) -> BGR uint8 array (H, W, 3).

    Raises:
        FileNotFoundError: If a path does not exist (URLs are not fetched).
        ValueError: If a file cannot be decoded as an image, or an array is
            not (H, W) or (H, W, 3).
        TypeError: For any other input.
    """
    if isinstance(image, (str, Path)):
        path = str(image)
        if not osp.isfile(path):
            raise FileNotFoundError(f'Image file not found: {path!r}.')
        array = imread(path)
        if array is None:
            raise ValueError(f'{path!r} is not an image file: it cannot be decoded '
                             '(expected JPEG, PNG, BMP, ...).')
        return array
    if isinstance(image, Image.Image):
        return np.ascontiguousarray(np.asarray(image.convert('RGB'))[..., ::-1])
    if isinstance(image, np.ndarray):
        if image.ndim == 2:
            return np.repeat(image[..., None], 3, axis=2)
        if image.ndim != 3 or image.shape[2] != 3:
            raise ValueError(f'An image array must be (H, W) or (H, W, 3) BGR, got shape '
                             f'{image.shape}.')
        return image
    raise TypeError(f'An image must be a path, a PIL image or a numpy array, got '
                    f'{type(image).__name__}.')


def image_sample(image: ImageInput) -> dict:
    """The pipeline input of one image (``LoadImageFromFile`` is skipped by the inferencers)."""
    array = read_image(image)
    return dict(img=array, img_shape=array.shape[:2], ori_shape=array.shape[:2])


def drawable_image(image: ImageInput) -> Union[str, np.ndarray]:
    """What mmpretrain's ``visualize`` draws right: a path string, or an RGB array."""
    if isinstance(image, (str, Path)):
        return str(image)
    return np.ascontiguousarray(read_image(image)[..., ::-1])


def check_local_files(model, pretrained: Union[bool, str], llm: dict = None) -> None:
    """Fail fast, naming the variable to set, when a plugin model's files are missing.

    Args:
        model: What the inferencer got: only plugin model names are checked.
        pretrained (bool | str): True reads the checkpoint from the model index.
        llm (dict, optional): Per-call override of ``model.llm``.
    """
    if not (isinstance(model, str) and is_minigpt4_model_name(model)):
        return
    metainfo = ModelHub._models_dict[model.lower()]
    if pretrained is True:
        _ = metainfo.weights  # resolving it raises FileNotFoundError naming the variable
    llm_cfg = {**Config.fromfile(metainfo.config).model.llm, **(llm or {})}
    metainfo.check_llm_directory(llm_cfg.get('name_or_path'))


class MiniGPT4CaptionInferencer(ImageCaptionInferencer):
    """Caption images: ``inferencer(images, batch_size=8)`` -> ``[{'pred_caption': str}]``.

    Args:
        model (str | Config | BaseModel): A model name (``list_models('minigpt-4*')``),
            a config path, or a built model.
        pretrained (bool | str): True: the checkpoint of the model index (local
            file from an environment variable); a path; or False for random
            weights. Defaults to True.
        **kwargs: ``device``, ``device_map`` and overrides of the model config
            (e.g. ``llm=dict(name_or_path='/data/vicuna-7b')``).
    """

    def __init__(self, model, pretrained: Union[bool, str] = True, **kwargs):
        check_local_files(model, pretrained, kwargs.get('llm'))
        super().__init__(model, pretrained, **kwargs)

    def preprocess(self, inputs: list, batch_size: int = 1):
        """Yield collated batches of ``{'inputs', 'data_samples'}``."""
        samples = (self.pipeline(image_sample(image)) for image in inputs)
        yield from map(default_collate, self._get_chunk_data(samples, batch_size))

    def visualize(self, ori_inputs: list, preds: list, **kwargs):
        """mmpretrain's drawing (``show``, ``show_dir``); it draws arrays as RGB."""
        return super().visualize([drawable_image(image) for image in ori_inputs], preds, **kwargs)


class MiniGPT4VQAInferencer(VisualQuestionAnsweringInferencer):
    """Answer questions: ``inferencer(image, question)`` -> ``[{'question', 'pred_answer'}]``.

    ``images`` and ``questions`` are one of each or two lists of equal length.
    Arguments as :class:`MiniGPT4CaptionInferencer`.
    """

    def __init__(self, model, pretrained: Union[bool, str] = True, **kwargs):
        check_local_files(model, pretrained, kwargs.get('llm'))
        super().__init__(model, pretrained, **kwargs)

    def __call__(self, images, questions, *args, **kwargs) -> list:
        """Check that images and questions pair up, then answer each pair."""
        if isinstance(images, (list, tuple)) != isinstance(questions, (list, tuple)) or (
                isinstance(images, (list, tuple)) and len(images) != len(questions)):
            raise ValueError('Pass one image and one question string, or two lists of the '
                             'same length.')
        return super().__call__(images, questions, *args, **kwargs)

    def preprocess(self, inputs: list, batch_size: int = 1):
        """Yield collated batches of ``{'inputs', 'data_samples'}`` with the questions."""
        samples = (self.pipeline({**item, **image_sample(item['img'])}) for item in inputs)
        yield from map(default_collate, self._get_chunk_data(samples, batch_size))

    def visualize(self, ori_inputs: list, preds: list, **kwargs):
        """mmpretrain's drawing (``show``, ``show_dir``); it draws arrays as RGB."""
        drawable = [{**item, 'img': drawable_image(item['img'])} for item in ori_inputs]
        return super().visualize(drawable, preds, **kwargs)
