"""``mmpretrain.inference_model`` that serves MiniGPT-4 names with the plugin's inferencers.

mmpretrain's ``inference_model`` always returns only the first result (a list
of images gives one caption), passes config overrides such as
``llm=dict(...)`` to ``__call__`` (an error), and says nothing useful about a
mistyped name. This wrapper, installed as ``mmpretrain.inference_model`` when
the plugin is imported, changes that for the plugin's models only and hands
every other model to mmpretrain unchanged.
"""
import difflib
import importlib
import os.path as osp
from inspect import signature

import mmpretrain.apis.model as mmpretrain_model_api
from mmengine.model import BaseModel
from mmpretrain.apis import ModelHub

from .inferencers import (MiniGPT4CaptionInferencer, MiniGPT4GroundingInferencer,
                          MiniGPT4VQAInferencer)
from .model_hub import LocalWeightsModel, is_minigpt4_model_name

_mmpretrain_inference_model = mmpretrain_model_api.inference_model

INFERENCERS = {
    'Image Caption': MiniGPT4CaptionInferencer,
    'Visual Question Answering': MiniGPT4VQAInferencer,
    'Visual Grounding': MiniGPT4GroundingInferencer,
}


def unknown_model_error(name: str) -> ValueError:
    """A 'no such model' error listing the registered names closest to ``name``."""
    close = difflib.get_close_matches(name.lower(), list(ModelHub._models_dict), n=5, cutoff=0.5)
    hint = f' Did you mean one of {close}?' if close else ''
    return ValueError(f'Unknown model name {name!r}.{hint} List the names with '
                      "mmpretrain.list_models() (MiniGPT-4: list_models('minigpt-4*')).")


def _minigpt4_metainfo(model):
    """The plugin's ModelHub entry behind ``model`` (a name or a built model), else None."""
    if isinstance(model, str):
        if model.lower() not in ModelHub._models_dict:
            raise unknown_model_error(model)
        return ModelHub._models_dict[model.lower()] if is_minigpt4_model_name(model) else None
    if isinstance(model, BaseModel):
        metainfo = getattr(model, '_metainfo', None)
        return metainfo if isinstance(metainfo, LocalWeightsModel) else None
    return None


def _call_argument_names(inferencer_type) -> set:
    """Keyword arguments that ``inferencer_type.__call__`` takes; the rest build the model."""
    names = set(signature(inferencer_type.__call__).parameters) - {'self', 'args', 'kwargs'}
    for group in ('preprocess_kwargs', 'forward_kwargs', 'visualize_kwargs',
                  'postprocess_kwargs'):
        names |= getattr(inferencer_type, group)
    return names | {'return_datasamples', 'batch_size', 'questions', 'objects'}


def inference_model(model, *args, **kwargs):
    """Run a model on images by name, as ``mmpretrain.inference_model``.

    For MiniGPT-4 models (``list_models('minigpt-4*')``): a single image gives
    one result dict, a list (or a directory) gives a list; keyword arguments that the
    inferencer call does not take (``pretrained``, ``device``, ``llm=dict(...)``
    and other ``model`` config keys) build the model.

    Examples:
        >>> inference_model('minigpt-4_vicuna-7b_caption', 'demo.jpg')
        {'pred_caption': 'a cat sitting on a sofa'}
        >>> inference_model('minigpt-4_vicuna-7b_vqa', 'demo.jpg', 'What animal is it?')
        {'question': 'What animal is it?', 'pred_answer': 'a cat'}
        >>> inference_model('minigpt-v2_llama2-7b_refer', 'demo.jpg', 'the cat on the left')
        {'text': 'the cat on the left', 'pred_answer': '{<2><30><48><96>}',
         'pred_bboxes': tensor([[ 12.8, 144.0, 307.2, 460.8]]), 'pred_phrases': [None],
         'pred_box_problems': []}

    Raises:
        ValueError: For an unknown name, listing the closest registered ones.
    """
    metainfo = _minigpt4_metainfo(model)
    if metainfo is None:
        return _mmpretrain_inference_model(model, *args, **kwargs)
    task = next(result.task for result in metainfo.results if result.task in INFERENCERS)
    inferencer_type = INFERENCERS[task]
    call_names = _call_argument_names(inferencer_type)
    init_kwargs = {key: kwargs.pop(key) for key in list(kwargs) if key not in call_names}
    inferencer = inferencer_type(model, **init_kwargs)
    results = inferencer(*args, **kwargs)
    images = args[0] if args else kwargs.get('images')
    many = isinstance(images, (list, tuple)) or (isinstance(images, str) and osp.isdir(images))
    return results if many else results[0]


def install_inference_model() -> None:
    """Make ``mmpretrain.inference_model`` (all its import paths) this function.

    Code that ran ``from mmpretrain import inference_model`` before the plugin
    was imported keeps mmpretrain's original.
    """
    # By module name: while mmpretrain is importing (the autoload hook), its
    # package attributes do not exist yet.
    for name in ('mmpretrain', 'mmpretrain.apis', 'mmpretrain.apis.model'):
        importlib.import_module(name).inference_model = inference_model
