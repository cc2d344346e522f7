import pytest
import torch
from fake_official_files import fake_blip2_model, fake_eva_vit_g

from mmpretrain_minigpt4.converters import ConversionError, convert_blip2_qformer

# Representative keys (reference §3.2 / §8.2), written out by hand.
EXPECTED_RENAMES = {
    'query_tokens': 'neck.query_tokens',
    'ln_vision.weight': 'ln_vision.weight',
    'ln_vision.bias': 'ln_vision.bias',
    'Qformer.bert.embeddings.LayerNorm.weight': 'neck.qformer.layernorm.weight',
    'Qformer.bert.embeddings.LayerNorm.bias': 'neck.qformer.layernorm.bias',
    'Qformer.bert.encoder.layer.0.attention.self.query.weight':
    'neck.qformer.encoder.layer.0.attention.attention.query.weight',
    'Qformer.bert.encoder.layer.1.attention.self.value.bias':
    'neck.qformer.encoder.layer.1.attention.attention.value.bias',
    'Qformer.bert.encoder.layer.0.attention.output.LayerNorm.weight':
    'neck.qformer.encoder.layer.0.attention.output.LayerNorm.weight',
    'Qformer.bert.encoder.layer.0.crossattention.self.key.weight':
    'neck.qformer.encoder.layer.0.crossattention.attention.key.weight',
    'Qformer.bert.encoder.layer.0.crossattention.output.dense.bias':
    'neck.qformer.encoder.layer.0.crossattention.output.dense.bias',
    'Qformer.bert.encoder.layer.0.intermediate_query.dense.weight':
    'neck.qformer.encoder.layer.0.intermediate_query.dense.weight',
    'Qformer.bert.encoder.layer.1.output_query.LayerNorm.bias':
    'neck.qformer.encoder.layer.1.output_query.LayerNorm.bias',
    'Qformer.bert.encoder.layer.1.output_query.dense.weight':
    'neck.qformer.encoder.layer.1.output_query.dense.weight',
}


def test_keys_land_renamed_with_their_values():
    sd = fake_blip2_model()
    weights = convert_blip2_qformer(sd, 'blip2.pth')
    for source, target in EXPECTED_RENAMES.items():
        assert torch.equal(weights.tensors[target], sd[source]), source
    # 1 query_tokens + 2 ln_vision + 2 layernorm + layer 0 (self, cross, FFN) + layer 1 (self, FFN)
    assert len(weights.tensors) == 1 + 2 + 2 + (10 + 10 + 6) + (10 + 6)
    for target, origin in weights.origins.items():
        assert weights.tensors[target] is sd[origin.key]
        assert origin.source == 'blip2.pth'
        assert '.self.' not in target and 'Qformer' not in target


def test_buffers_t5_projection_and_text_parts_are_reported_dropped():
    sd = fake_blip2_model(with_text_parts=True)
    weights = convert_blip2_qformer(sd, 'blip2.pth')
    dropped = {d.origin.key: d.reason for d in weights.dropped}
    assert len(dropped) + len(weights.tensors) == len(sd)
    assert dropped['Qformer.bert.embeddings.position_ids'].startswith('buffer')
    assert dropped['t5_proj.weight'] == dropped['t5_proj.bias']
    assert 'FlanT5' in dropped['t5_proj.weight']
    text_keys = set(sd) - set(fake_blip2_model())
    assert len(text_keys) == 2 + 2 * 6 + 1  # embeddings, per-layer text FFN, MLM head
    for key in text_keys:
        assert 'queries only' in dropped[key] or 'masked-language-model' in dropped[key], key


def test_another_file_is_refused_naming_it():
    with pytest.raises(ConversionError, match=r"eva_vit_g.pth is not a BLIP-2 Q-Former "
                       r"checkpoint like blip2_pretrained_flant5xxl.pth: it has no 'query_tokens'"):
        convert_blip2_qformer(fake_eva_vit_g(), 'eva_vit_g.pth')
