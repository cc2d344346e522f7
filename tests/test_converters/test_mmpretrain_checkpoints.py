import pytest
import torch
from fake_official_files import (fake_blip2_model, fake_eva_vit_g, fake_mmpretrain_eva_vit,
                      fake_mmpretrain_qformer)

from mmpretrain_minigpt4.converters import (ConversionError, convert_blip2_qformer,
                                            convert_eva_vit, convert_mmpretrain_eva_vit,
                                            convert_mmpretrain_qformer)


def test_beit_named_eva_vit_gives_the_official_file_tensors():
    official = convert_eva_vit(fake_eva_vit_g(), 'eva_vit_g.pth', num_layers=2)
    beit_sd = fake_mmpretrain_eva_vit()['state_dict']
    assert 'layers.0.ffn.layers.0.0.weight' in beit_sd and 'layers.1.ln2.bias' in beit_sd
    converted = convert_mmpretrain_eva_vit(beit_sd, 'minigpt-4_eva-g-p14.pth', num_layers=2)
    assert sorted(converted.tensors) == sorted(official.tensors)
    for key, tensor in official.tensors.items():
        assert torch.equal(converted.tensors[key], tensor), key
    assert converted.origins['vision_encoder.blocks.1.mlp.fc2.bias'].key == \
        'layers.1.ffn.layers.1.bias'
    assert sorted(d.origin.key for d in converted.dropped) == sorted(
        key for key in beit_sd if key.startswith('layers.2.'))


def test_q_former_named_checkpoint_gives_the_official_file_tensors():
    official = convert_blip2_qformer(fake_blip2_model(), 'blip2.pth')
    converted = convert_mmpretrain_qformer(fake_mmpretrain_qformer()['state_dict'],
                                           'minigpt-4_qformer.pth')
    assert sorted(converted.tensors) == sorted(official.tensors)
    for key, tensor in official.tensors.items():
        assert torch.equal(converted.tensors[key], tensor), key
    assert [d.origin.key for d in converted.dropped] == ['q_former.bert.embeddings.position_ids']


def test_official_file_is_not_taken_for_mmpretrain_eva_vit():
    with pytest.raises(ConversionError, match=r"eva_vit_g.pth is not mmpretrain's minigpt-4_"
                       r"eva-g-p14 checkpoint: it has no 'patch_embed.projection.weight'"):
        convert_mmpretrain_eva_vit(fake_eva_vit_g(), 'eva_vit_g.pth', num_layers=2)
