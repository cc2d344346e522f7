"""Inference: model names in mmpretrain's ModelHub, inferencers, ``inference_model``, chat.

Importing this package registers the MiniGPT-4 names (replacing mmpretrain's
same-named entry) and installs the plugin's ``mmpretrain.inference_model`` and
``dispatch_model`` (``device_map``).
"""
from .chat import CHAT_GENERATION_CFG, Chat
from .inference import inference_model, install_inference_model
from ..datasets.image_decoding import read_image
from .inferencers import (MiniGPT4CaptionInferencer, MiniGPT4GroundingInferencer,
                          MiniGPT4VQAInferencer)
from .model_dispatch import dispatch_model, install_dispatch_model
from .model_hub import LocalWeightsModel, register_minigpt4_models

register_minigpt4_models()
install_inference_model()
install_dispatch_model()

__all__ = [
    'CHAT_GENERATION_CFG', 'Chat', 'LocalWeightsModel', 'MiniGPT4CaptionInferencer',
    'MiniGPT4GroundingInferencer', 'MiniGPT4VQAInferencer', 'dispatch_model', 'inference_model',
    'install_dispatch_model', 'install_inference_model', 'read_image',
    'register_minigpt4_models'
]
