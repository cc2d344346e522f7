import pytest
import torch

from mmpretrain_minigpt4.converters import ConversionError, ConvertedWeights, KeyMapping, KeyOrigin

MAPPING = KeyMapping(
    renames=(('cls_token', 'enc.cls_token'), ('blocks.{n}.norm1.', 'enc.layers.{n}.ln1.'),
             ('blocks.{n}.', 'enc.layers.{n}.')),
    drops=(('blocks.{n}.attn.bias_table', 'relative bias: not used'), ))


def test_prefix_whole_key_and_layer_index_rules():
    assert MAPPING.target_key('cls_token') == ('enc.cls_token', None)
    assert MAPPING.target_key('blocks.12.norm1.weight') == ('enc.layers.12.ln1.weight', None)
    assert MAPPING.target_key('blocks.3.mlp.fc1.bias') == ('enc.layers.3.mlp.fc1.bias', None)
    # A whole-key pattern does not match longer keys.
    assert MAPPING.target_key('cls_token_extra') == (None, 'no counterpart in MiniGPT-4')
    assert MAPPING.target_key('blocks.1.attn.bias_table') == (None, 'relative bias: not used')
    assert MAPPING.target_key('blocksX.1.norm1.weight')[0] is None


def test_source_key_inverts_renames():
    for key in ('cls_token', 'blocks.7.norm1.bias', 'blocks.0.attn.qkv.weight'):
        target, _ = MAPPING.target_key(key)
        assert MAPPING.source_key(target) == key
    assert MAPPING.source_key('head.proj.weight') is None


def test_convert_keeps_tensors_and_reports_every_dropped_key():
    cls_token, extra = torch.randn(1, 1, 4), torch.randn(2)
    sd = {'cls_token': cls_token, 'blocks.0.attn.bias_table': torch.randn(3), 'other': extra,
          'blocks.5.norm1.weight': torch.randn(4)}
    weights = MAPPING.convert(sd, 'file.pth', skip={'blocks.5.norm1.weight': 'too deep'})
    assert list(weights.tensors) == ['enc.cls_token']
    assert weights.tensors['enc.cls_token'] is cls_token  # not copied
    assert weights.origins['enc.cls_token'] == KeyOrigin('file.pth', 'cls_token')
    assert {(d.origin.key, d.reason) for d in weights.dropped} == {
        ('blocks.0.attn.bias_table', 'relative bias: not used'),
        ('other', 'no counterpart in MiniGPT-4'), ('blocks.5.norm1.weight', 'too deep')}
    assert {d.origin.source for d in weights.dropped} == {'file.pth'}
    assert weights.source_of_missing('enc.layers.1.ln1.weight') == \
        "file.pth has no 'blocks.1.norm1.weight'"


def test_two_files_mapping_to_one_key_is_an_error():
    weights = ConvertedWeights()
    weights.add('ln_vision.weight', torch.ones(2), KeyOrigin('a.pth', 'ln_vision.weight'))
    other = ConvertedWeights()
    other.add('ln_vision.weight', torch.ones(2), KeyOrigin('b.pth', 'norm.weight'))
    with pytest.raises(ConversionError, match=r"'norm.weight' of b.pth and 'ln_vision.weight' "
                       r"of a.pth both map to 'ln_vision.weight'"):
        weights.update(other)
