"""mmpretrain's caption, VQA and visual grounding inferencers, made safe for MiniGPT-4.

On top of mmpretrain's classes (which build the model, run the config's test
pipeline and batch with ``batch_size``):

- before anything is built, a plugin model name is checked for its local
  files (checkpoint and LLM directory), with errors naming the variable to set;
- images may be paths, PIL images (any mode) or arrays (BGR, as everywhere in
  mmcv / mmpretrain), decoded by the plugin's one decoder
  (:mod:`mmpretrain_minigpt4.datasets.image_decoding`): the same pixels as in
  training and evaluation; a missing file, a file that is not an image or an
  unusable array is a clear error; drawn results (``show_dir``) keep their
  colours (mmpretrain draws arrays as RGB but reads them as BGR);
- ``batch_size``, questions and prompt lengths are checked before any image is read;
- ``device_map`` (``'auto'``, ``'sequential'``, a dict) spreads the model over
  devices with accelerate, with ``max_memory`` (which mmpretrain's classes do not
  take) and ``offload_folder``: e.g. a 13B model over two 16 GB GPUs;
- a model that reads boxes (MiniGPT-v2, ``model.parse_boxes``) returns them with
  every result: ``pred_bboxes`` (N, 4) x1, y1, x2, y2 in pixels of the input image,
  ``pred_phrases`` (one phrase or None per box) and ``pred_box_problems``.
"""
from pathlib import Path
from typing import Callable, Optional, Sequence, Union

import numpy as np
from mmcv.transforms import Compose
from mmengine.config import Config
from mmengine.dataset import default_collate
from mmpretrain.apis import (ImageCaptionInferencer, ModelHub,
                             VisualGroundingInferencer, VisualQuestionAnsweringInferencer)
from mmpretrain.datasets import remove_transform
from mmpretrain.registry import TRANSFORMS
from mmpretrain.structures import DataSample

from ..datasets.image_decoding import ImageInput, read_image
from .model_dispatch import dispatch_model
from .model_hub import is_minigpt4_model_name

# Loaders that a config's test pipeline may start with; the inferencers load
# images themselves.
IMAGE_LOADERS = ('LoadImageFromFile', 'LoadImageWithPIL')
# What a model with ``parse_boxes`` adds to each result.
BOX_FIELDS = ('pred_bboxes', 'pred_phrases', 'pred_box_problems')


def image_sample(image: ImageInput) -> dict:
    """The pipeline input of one image (``LoadImageFromFile`` is skipped by the inferencers)."""
    array = read_image(image)
    return dict(img=array, img_shape=array.shape[:2], ori_shape=array.shape[:2])


def drawable_image(image: ImageInput) -> Union[str, np.ndarray]:
    """What mmpretrain's ``visualize`` draws right: a path string, or an RGB array."""
    if isinstance(image, (str, Path)):
        return str(image)
    return np.ascontiguousarray(read_image(image)[..., ::-1])


def drawable_items(items: list) -> list:
    """Inputs ``{'img', ...}`` with their images as :func:`drawable_image` makes them."""
    return [{**item, 'img': drawable_image(item['img'])} for item in items]


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


def check_prompts(model, samples: Sequence[DataSample]) -> None:
    """The samples' prompts (questions included) plus ``max_new_tokens`` must fit the LLM's
    context; a bad question is named by its position."""
    prompts = []
    for number, sample in enumerate(samples):
        try:
            prompts.append(model.prediction_prompt(sample))
        except ValueError as error:
            raise ValueError(f'Question {number}: {error}') from None
    settings = model.generation_settings(source='model.generation_cfg')
    model.check_prompt_lengths(prompts, settings['max_new_tokens'], 'inferencer')


def check_batch_size(batch_size) -> None:
    """``batch_size`` must be an integer >= 1 (0 would never make a batch)."""
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f'batch_size must be an integer >= 1, got {batch_size!r}.')


def with_boxes(result: dict, sample: DataSample) -> dict:
    """``result`` plus the sample's box fields, if the model read boxes."""
    return {**result, **{key: sample.get(key) for key in BOX_FIELDS if key in sample}}


def check_image_text_pairs(images, texts, kind: str) -> list:
    """One image and one text string, or two lists of the same length; the texts as a list."""
    if isinstance(images, (list, tuple)) != isinstance(texts, (list, tuple)) or (
            isinstance(images, (list, tuple)) and len(images) != len(texts)):
        raise ValueError(f'Pass one image and one {kind} string, or two lists of the '
                         'same length.')
    return list(texts) if isinstance(texts, (list, tuple)) else [texts]


def pipeline_without_loader(cfg: Config) -> Callable:
    """The config's test pipeline minus its image loader (images come decoded)."""
    transforms = cfg.test_dataloader.dataset.pipeline
    for loader in IMAGE_LOADERS:
        transforms = remove_transform(transforms, loader)
    return Compose([TRANSFORMS.build(t) for t in transforms])


class _LocalModelInferencer:
    """The plugin's ``__init__`` of its inferencers: local files checked first, the
    model spread over devices with ``device_map`` / ``max_memory`` / ``offload_folder``."""

    def __init__(self, model, pretrained: Union[bool, str] = True, device_map=None,
                 max_memory: Optional[dict] = None, offload_folder: Optional[str] = None,
                 **kwargs):
        check_local_files(model, pretrained, kwargs.get('llm'))
        if device_map is not None and kwargs.get('device') is not None:
            raise ValueError('Pass `device` or `device_map`, not both.')
        if device_map is None and (max_memory is not None or offload_folder is not None):
            raise ValueError('`max_memory` and `offload_folder` need a `device_map` '
                             "(e.g. device_map='auto').")
        super().__init__(model, pretrained, **kwargs)
        if device_map is not None:
            # accelerate through mmpretrain's dispatch_model, with the model's _no_split_modules.
            self.model = dispatch_model(self.model, device_map=device_map,
                                        max_memory=max_memory, offload_folder=offload_folder)

    def _init_pipeline(self, cfg: Config) -> Callable:
        return pipeline_without_loader(cfg)


class MiniGPT4CaptionInferencer(_LocalModelInferencer, ImageCaptionInferencer):
    """Caption images: ``inferencer(images, batch_size=8)`` -> ``[{'pred_caption': str}]``.

    Args:
        model (str | Config | BaseModel): A model name (``list_models('minigpt-4*')``),
            a config path, or a built model.
        pretrained (bool | str): True: the checkpoint of the model index (local
            file from an environment variable); a path; or False for random
            weights. Defaults to True.
        **kwargs: ``device``, or ``device_map`` (with ``max_memory``,
            ``offload_folder``), and overrides of the model config (e.g.
            ``llm=dict(name_or_path='/data/vicuna-7b')``).
    """

    def __call__(self, images, *args, batch_size: int = 1, **kwargs) -> list:
        """Check ``batch_size`` and the prompt length, then caption every image."""
        check_batch_size(batch_size)
        check_prompts(self.model, [DataSample()])
        return super().__call__(images, *args, batch_size=batch_size, **kwargs)

    def preprocess(self, inputs: list, batch_size: int = 1):
        """Yield collated batches of ``{'inputs', 'data_samples'}``."""
        samples = (self.pipeline(image_sample(image)) for image in inputs)
        yield from map(default_collate, self._get_chunk_data(samples, batch_size))

    def visualize(self, ori_inputs: list, preds: list, **kwargs):
        """mmpretrain's drawing (``show``, ``show_dir``); it draws arrays as RGB."""
        return super().visualize([drawable_image(image) for image in ori_inputs], preds, **kwargs)

    def postprocess(self, preds: list, visualization: list, return_datasamples: bool = False):
        """``[{'pred_caption'}]`` (with the box fields of a model that reads boxes)."""
        if return_datasamples:
            return preds
        return [with_boxes({'pred_caption': sample.get('pred_caption')}, sample)
                for sample in preds]


class MiniGPT4VQAInferencer(_LocalModelInferencer, VisualQuestionAnsweringInferencer):
    """Answer questions: ``inferencer(image, question)`` -> ``[{'question', 'pred_answer'}]``.

    ``images`` and ``questions`` are one of each or two lists of equal length.
    Arguments as :class:`MiniGPT4CaptionInferencer`.
    """

    def __call__(self, images, questions, *args, batch_size: int = 1, **kwargs) -> list:
        """Check that images and questions pair up, the questions, ``batch_size`` and
        the prompt lengths, then answer each pair."""
        listed = check_image_text_pairs(images, questions, 'question')
        check_batch_size(batch_size)
        check_prompts(self.model, [DataSample(question=q) for q in listed])
        return super().__call__(images, questions, *args, batch_size=batch_size, **kwargs)

    def preprocess(self, inputs: list, batch_size: int = 1):
        """Yield collated batches of ``{'inputs', 'data_samples'}`` with the questions."""
        samples = (self.pipeline({**item, **image_sample(item['img'])}) for item in inputs)
        yield from map(default_collate, self._get_chunk_data(samples, batch_size))

    def visualize(self, ori_inputs: list, preds: list, **kwargs):
        """mmpretrain's drawing (``show``, ``show_dir``); it draws arrays as RGB."""
        return super().visualize(drawable_items(ori_inputs), preds, **kwargs)

    def postprocess(self, preds: list, visualization: list, return_datasamples: bool = False):
        """``[{'question', 'pred_answer'}]`` (with the box fields of a model that reads boxes)."""
        if return_datasamples:
            return preds
        return [with_boxes({'question': sample.get('question'),
                            'pred_answer': sample.get('pred_answer')}, sample)
                for sample in preds]


class MiniGPT4GroundingInferencer(_LocalModelInferencer, VisualGroundingInferencer):
    """Locate what a text names (MiniGPT-v2 ``[refer]`` / ``[detection]``):
    ``inferencer(image, 'the cat on the left')`` ->
    ``[{'text', 'pred_answer', 'pred_bboxes', 'pred_phrases', 'pred_box_problems'}]``.

    ``pred_bboxes`` (N, 4) are x1, y1, x2, y2 in pixels of the input image, read
    from the answer's 0-100 grid; an answer without a readable box gives (0, 4)
    and says why in ``pred_box_problems``. The text is the sample's ``question``,
    wrapped by the model's ``vqa_instruction`` (e.g. ``'[refer] give me the
    location of {}'``). ``images`` and ``texts`` are one of each or two lists of
    equal length; ``show_dir`` draws the boxes. Arguments as
    :class:`MiniGPT4CaptionInferencer`.
    """

    def __init__(self, model, pretrained: Union[bool, str] = True, **kwargs):
        super().__init__(model, pretrained, **kwargs)
        if not getattr(self.model, 'parse_boxes', False):
            raise ValueError('MiniGPT4GroundingInferencer needs a model that reads boxes: set '
                             'model.parse_boxes=True (the MiniGPT-v2 configs do).')

    def __call__(self, images, texts, *args, batch_size: int = 1, **kwargs) -> list:
        """Check that images and texts pair up, the texts, ``batch_size`` and the prompt
        lengths, then locate each text in its image."""
        listed = check_image_text_pairs(images, texts, 'text')
        check_batch_size(batch_size)
        check_prompts(self.model, [DataSample(question=text) for text in listed])
        return super().__call__(images, texts, *args, batch_size=batch_size, **kwargs)

    def preprocess(self, inputs: list, batch_size: int = 1):
        """Yield collated batches of ``{'inputs', 'data_samples'}``, the text as the question."""
        samples = (self.pipeline({'question': item['text'], **image_sample(item['img'])})
                   for item in inputs)
        yield from map(default_collate, self._get_chunk_data(samples, batch_size))

    def visualize(self, ori_inputs: list, preds: list, **kwargs):
        """mmpretrain's box drawing (``show``, ``show_dir``); it draws arrays as RGB."""
        return super().visualize(drawable_items(ori_inputs), preds, **kwargs)

    def postprocess(self, preds: list, visualization: list, return_datasamples: bool = False):
        if return_datasamples:
            return preds
        return [with_boxes({'text': sample.get('question'),
                            'pred_answer': sample.get('pred_answer')}, sample)
                for sample in preds]
