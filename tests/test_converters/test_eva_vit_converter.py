import pytest
import torch
from fake_official_files import fake_blip2_model, fake_eva_vit_g

from mmpretrain_minigpt4.converters import ConversionError, convert_eva_vit
from mmpretrain_minigpt4.models.backbones import interpolate_pos_embed

KEYS_PER_BLOCK = 13


def test_every_kept_tensor_lands_under_vision_encoder_unchanged():
    sd = fake_eva_vit_g()
    weights = convert_eva_vit(sd, 'eva_vit_g.pth', num_layers=2)
    kept = [key for key in sd if not key.startswith('blocks.2.')]
    assert sorted(weights.tensors) == sorted('vision_encoder.' + key for key in kept)
    assert len(weights.tensors) == 4 + 2 * KEYS_PER_BLOCK
    for key in kept:
        assert torch.equal(weights.tensors['vision_encoder.' + key], sd[key]), key
        assert weights.origins['vision_encoder.' + key] == ('eva_vit_g.pth', key)


def test_blocks_beyond_the_depth_are_dropped_and_reported():
    sd = fake_eva_vit_g()
    weights = convert_eva_vit(sd, 'eva_vit_g.pth', num_layers=2)
    dropped = {d.origin.key: d.reason for d in weights.dropped}
    assert sorted(dropped) == sorted(key for key in sd if key.startswith('blocks.2.'))
    assert len(dropped) == KEYS_PER_BLOCK
    assert set(dropped.values()) == {'block 2 is beyond the model depth (2 blocks)'}


def test_pos_embed_is_interpolated_to_another_image_size():
    sd = fake_eva_vit_g()
    weights = convert_eva_vit(sd, 'eva_vit_g.pth', num_layers=2, num_patches=32 * 32)
    pos_embed = weights.tensors['vision_encoder.pos_embed']
    assert pos_embed.shape == (1, 1025, 32)
    assert torch.equal(pos_embed, interpolate_pos_embed(sd['pos_embed'], 1024))
    assert torch.equal(pos_embed[:, 0], sd['pos_embed'][:, 0])  # CLS kept
    assert weights.notes == ["'pos_embed' of eva_vit_g.pth: resized from 256 to 1024 patches "
                             '(bicubic)']
    same_size = convert_eva_vit(sd, 'eva_vit_g.pth', num_layers=2, num_patches=256)
    assert same_size.tensors['vision_encoder.pos_embed'] is sd['pos_embed']
    assert same_size.notes == []


def test_non_square_grid_names_the_key_and_file():
    with pytest.raises(ConversionError,
                       match=r"'pos_embed' of eva_vit_g.pth: pos_embed of shape \(1, 257, 32\) "
                       'cannot be resized to 1000 patches'):
        convert_eva_vit(fake_eva_vit_g(), 'eva_vit_g.pth', num_layers=2, num_patches=1000)


def test_another_file_is_refused_naming_it():
    with pytest.raises(ConversionError, match=r"blip2.pth is not an EVA ViT checkpoint like "
                       r"eva_vit_g.pth: it has no 'patch_embed.proj.weight'"):
        convert_eva_vit(fake_blip2_model(), 'blip2.pth', num_layers=2)
