"""The tiny model sees its images: its frozen random encoder gives different features for
different real photos (the quick start depends on it); ``freeze_llm=False`` trains the LLM."""
import numpy as np
import torch
from mmengine.config import Config
from PIL import Image

from conftest import REPO_ROOT, TINY_MODEL_CONFIG, build_tiny_model

MINI_IMAGES = f'{REPO_ROOT}/tests/data/minigpt4_mini/cc_sbu_align/image'


def mini_photos(model) -> torch.Tensor:
    """The 8 mini photos, resized and normalised as in training: (8, 3, 224, 224)."""
    arrays = [np.asarray(Image.open(f'{MINI_IMAGES}/{i}.jpg').convert('RGB').resize(
        (224, 224), Image.BICUBIC)) for i in range(8)]
    images = torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2).float()
    preprocessor = model.data_preprocessor
    return (images - preprocessor.mean) / preprocessor.std


def relative_spread(features: torch.Tensor) -> float:
    """Mean distance of each photo's features from the photos' mean, over their norm."""
    flat = features.flatten(1)
    return ((flat - flat.mean(0)).norm(dim=1) / flat.norm(dim=1)).mean().item()


def test_frozen_features_tell_the_photos_apart():
    model = build_tiny_model()
    features = model.encode_frozen(mini_photos(model))
    assert features.shape == (8, 32, 32)
    assert relative_spread(features) > 0.3
    # BERT's initializer_range (0.02) gives a near-uniform cross-attention: the
    # features of all photos are nearly the same (why the tiny config widens it).
    neck = dict(Config.fromfile(TINY_MODEL_CONFIG).model.neck, initializer_range=0.02)
    narrow = build_tiny_model(neck=neck)
    assert relative_spread(narrow.encode_frozen(mini_photos(narrow))) < 0.05


def test_freeze_llm_false_trains_the_llm_with_the_projection():
    frozen, trained = build_tiny_model(), build_tiny_model(freeze_llm=False)
    assert frozen.trainable_parameter_names() == {'head.proj.weight', 'head.proj.bias'}
    llm_names = {'llm.' + name for name, _ in trained.llm.named_parameters()}
    assert trained.trainable_parameter_names() == {'head.proj.weight', 'head.proj.bias'} | llm_names
    # Its checkpoints hold the LLM (trainable weights are saved), and the inference
    # model, whose LLM is frozen, loads them.
    state = trained.state_dict()
    assert llm_names <= set(state)
    frozen.load_state_dict(state)
    assert torch.equal(frozen.llm.lm_head.weight, trained.llm.lm_head.weight)
    trained.train()
    assert trained.llm.training and not trained.vision_encoder.training
