"""cache_frozen_features: same loss, frozen encoder run once per image, augmentation caught."""
import pytest
import torch
from conftest import build_tiny_model
from mmpretrain.structures import DataSample

PROMPT = '###Human: <Img><ImageHere></Img> Describe this image in detail. ###Assistant: '
ANSWERS = ('A cat sleeps on a red mat.', 'Two dogs run on the beach.', 'A rocket.')


def _samples(paths):
    return [DataSample(prompt=PROMPT, answer=ANSWERS[i % 3], img_path=p) for i, p in enumerate(paths)]


def _count_encoded(model):
    """A list that grows by the number of images each ViT call encodes."""
    counts = []
    model.vision_encoder.register_forward_hook(lambda m, args, out: counts.append(args[0].shape[0]))
    return counts


@pytest.fixture(scope='module')
def images():
    torch.manual_seed(0)
    return torch.randn(3, 3, 224, 224)


def test_cached_features_give_same_loss_and_grad(images):
    plain = build_tiny_model(seed=2).train()
    cached = build_tiny_model(seed=2, cache_frozen_features=True).train()
    encoded = _count_encoded(cached)
    for batch in ([0, 1], [1, 2], [2, 0, 1]):  # later batches mix cached and new images
        paths = [f'img{i}.jpg' for i in batch]
        for model in (plain, cached):
            model.zero_grad()
            loss = model(images[batch], _samples(paths), mode='loss')['loss']
            loss.backward()
        expected = plain(images[batch], _samples(paths), mode='loss')['loss']
        torch.testing.assert_close(loss, expected)
        torch.testing.assert_close(cached.head.proj.weight.grad, plain.head.proj.weight.grad)
    assert encoded == [2, 1]  # img0, img1; then img2; then nothing
    assert len(cached.feature_cache) == 3


def test_changed_pixels_raise(images):
    model = build_tiny_model(seed=2, cache_frozen_features=True).train()
    model(images[:2], _samples(['a.jpg', 'b.jpg']), mode='loss')
    flipped = images[:2].flip(-1)  # what a random flip would feed on the next epoch
    with pytest.raises(ValueError, match="pixels of img_path:b.jpg differ"):
        model(torch.stack([images[0], flipped[1]]), _samples(['a.jpg', 'b.jpg']), mode='loss')


def test_needs_an_image_identity(images):
    model = build_tiny_model(seed=2, cache_frozen_features=True).train()
    with pytest.raises(KeyError, match='img_path'):
        model(images[:1], [DataSample(prompt=PROMPT, answer='A cat.')], mode='loss')


def test_loading_weights_clears_the_cache(images):
    model = build_tiny_model(seed=2, cache_frozen_features=True).train()
    model(images[:2], _samples(['a.jpg', 'b.jpg']), mode='loss')
    assert len(model.feature_cache) == 2
    model.load_state_dict(model.state_dict(), strict=False)
    assert len(model.feature_cache) == 0


def test_predict_does_not_cache(images):
    model = build_tiny_model(seed=2, cache_frozen_features=True, generation_cfg=dict(max_new_tokens=2))
    model(images[:1], [DataSample(img_path='a.jpg')], mode='predict')
    assert len(model.feature_cache) == 0
