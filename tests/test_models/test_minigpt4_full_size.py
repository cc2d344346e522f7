"""Full-size models on the ``meta`` device: official parameter shapes, no memory."""
import re

import pytest
import torch
from mmengine.config import Config
from mmpretrain.registry import MODELS

from conftest import REPO_ROOT, TINY_MODEL_CONFIG

VICUNA_7B = dict(model_type='llama', vocab_size=32001, hidden_size=4096, intermediate_size=11008,
                 num_hidden_layers=32, num_attention_heads=32, num_key_value_heads=32)


def build_on_meta(base: str, llm_config: dict):
    cfg = Config.fromfile(f'{REPO_ROOT}/configs/minigpt4/_base_/models/{base}.py')
    cfg.model.llm.pop('name_or_path')  # the config's other LLM settings (LoRA) stay
    cfg.model.llm.update(config=llm_config, dtype='float16')
    cfg.model.tokenizer = Config.fromfile(TINY_MODEL_CONFIG).model.tokenizer
    cfg.model.save_frozen_weights = True
    with torch.device('meta'):
        return MODELS.build(cfg.model)


def official_vit_shapes(depth=39, dim=1408, mlp=6144, tokens=257):
    shapes = {'cls_token': (1, 1, dim), 'pos_embed': (1, tokens, dim),
              'patch_embed.proj.weight': (dim, 3, 14, 14), 'patch_embed.proj.bias': (dim, )}
    for i in range(depth):
        shapes.update({
            f'blocks.{i}.norm1.weight': (dim, ), f'blocks.{i}.norm1.bias': (dim, ),
            f'blocks.{i}.attn.q_bias': (dim, ), f'blocks.{i}.attn.v_bias': (dim, ),
            f'blocks.{i}.attn.qkv.weight': (3 * dim, dim),
            f'blocks.{i}.attn.proj.weight': (dim, dim), f'blocks.{i}.attn.proj.bias': (dim, ),
            f'blocks.{i}.norm2.weight': (dim, ), f'blocks.{i}.norm2.bias': (dim, ),
            f'blocks.{i}.mlp.fc1.weight': (mlp, dim), f'blocks.{i}.mlp.fc1.bias': (mlp, ),
            f'blocks.{i}.mlp.fc2.weight': (dim, mlp), f'blocks.{i}.mlp.fc2.bias': (dim, )})
    return shapes


def official_qformer_shapes():
    """LAVIS ``Qformer.bert.*`` keys of MiniGPT-4 (reference §3.1), renamed to transformers'."""
    shapes = {'Qformer.bert.embeddings.LayerNorm.weight': (768, ),
              'Qformer.bert.embeddings.LayerNorm.bias': (768, )}
    for i in range(12):
        p = f'Qformer.bert.encoder.layer.{i}.'
        parts = ['attention'] + (['crossattention'] if i % 2 == 0 else [])
        for part in parts:
            kv_in = 1408 if part == 'crossattention' else 768
            for name, fan_in in (('query', 768), ('key', kv_in), ('value', kv_in)):
                shapes[f'{p}{part}.self.{name}.weight'] = (768, fan_in)
                shapes[f'{p}{part}.self.{name}.bias'] = (768, )
            shapes[f'{p}{part}.output.dense.weight'] = (768, 768)
            shapes[f'{p}{part}.output.dense.bias'] = (768, )
            shapes[f'{p}{part}.output.LayerNorm.weight'] = (768, )
            shapes[f'{p}{part}.output.LayerNorm.bias'] = (768, )
        shapes[f'{p}intermediate_query.dense.weight'] = (3072, 768)
        shapes[f'{p}intermediate_query.dense.bias'] = (3072, )
        shapes[f'{p}output_query.dense.weight'] = (768, 3072)
        shapes[f'{p}output_query.dense.bias'] = (768, )
        shapes[f'{p}output_query.LayerNorm.weight'] = (768, )
        shapes[f'{p}output_query.LayerNorm.bias'] = (768, )
    renamed = {}
    for key, shape in shapes.items():
        key = key.replace('Qformer.bert.embeddings.LayerNorm', 'neck.qformer.layernorm')
        key = key.replace('Qformer.bert.', 'neck.qformer.')
        renamed[re.sub(r'attention\.self\.', 'attention.attention.', key)] = shape
    return renamed


def shapes_under(model, prefix):
    return {k[len(prefix):]: tuple(v.shape) for k, v in model.state_dict().items()
            if k.startswith(prefix)}


@pytest.fixture(scope='module')
def vicuna_7b():
    return build_on_meta('minigpt4_vicuna-7b', VICUNA_7B)


def test_vit_g_has_39_blocks_with_official_shapes(vicuna_7b):
    assert len(vicuna_7b.vision_encoder.blocks) == 39
    assert shapes_under(vicuna_7b, 'vision_encoder.') == official_vit_shapes()
    assert len(official_vit_shapes()) == 511
    ln = vicuna_7b.ln_vision
    assert (tuple(ln.weight.shape), ln.eps) == ((1408, ), 1e-5)
    assert vicuna_7b.vision_encoder.blocks[0].norm1.eps == 1e-6


def test_qformer_and_projection_shapes(vicuna_7b):
    qformer = {'neck.' + k: v for k, v in shapes_under(vicuna_7b, 'neck.').items()}
    query_tokens = qformer.pop('neck.query_tokens')
    assert query_tokens == (1, 32, 768)
    assert qformer == official_qformer_shapes()
    assert len(qformer) == 254  # 255 official keys minus the position_ids buffer
    assert shapes_under(vicuna_7b, 'head.') == {'proj.weight': (4096, 768), 'proj.bias': (4096, )}
    assert shapes_under(vicuna_7b, 'llm.')['model.embed_tokens.weight'] == (32001, 4096)


def test_only_the_projection_trains(vicuna_7b):
    trainable = [n for n, p in vicuna_7b.named_parameters() if p.requires_grad]
    assert trainable == ['head.proj.weight', 'head.proj.bias']


def test_vicuna_13b_and_llama2_variants():
    vicuna_13b = build_on_meta('minigpt4_vicuna-13b', dict(
        VICUNA_7B, hidden_size=5120, intermediate_size=13824, num_hidden_layers=1,
        num_attention_heads=40, num_key_value_heads=40))
    assert shapes_under(vicuna_13b, 'head.') == {'proj.weight': (5120, 768), 'proj.bias': (5120, )}
    llama2 = build_on_meta('minigpt4_llama2-chat-7b', dict(VICUNA_7B, vocab_size=32000,
                                                           num_hidden_layers=1))
    assert llama2.neck is None
    assert shapes_under(llama2, 'head.') == {'proj.weight': (4096, 5632), 'proj.bias': (4096, )}
    assert llama2.template.name == 'llama2'
    trainable = [n for n, p in llama2.named_parameters() if p.requires_grad]
    assert trainable == ['head.proj.weight', 'head.proj.bias']


def official_minigptv2_lora_keys():
    """Our names of the 128 LoRA tensors of ``minigptv2_checkpoint.pth`` (reference §3.2:
    ``llama_model.base_model.model.model.layers.{i}.self_attn.{q,v}_proj.lora_{A,B}.weight``)
    -> the official shapes."""
    shapes = {}
    for i in range(32):
        for proj in ('q_proj', 'v_proj'):
            p = f'llm.model.layers.{i}.self_attn.{proj}.'
            shapes[p + 'lora_A.default.weight'] = (64, 4096)
            shapes[p + 'lora_B.default.weight'] = (4096, 64)
    return shapes


@pytest.fixture(scope='module')
def minigptv2():
    return build_on_meta('minigptv2_llama2-chat-7b', dict(VICUNA_7B, vocab_size=32000))


def test_minigptv2_vit_at_448_and_projection_shapes(minigptv2):
    assert minigptv2.neck is None
    assert shapes_under(minigptv2, 'vision_encoder.') == official_vit_shapes(tokens=1025)
    assert shapes_under(minigptv2, 'ln_vision.') == {'weight': (1408, ), 'bias': (1408, )}
    assert shapes_under(minigptv2, 'head.') == {'proj.weight': (4096, 5632), 'proj.bias': (4096, )}
    assert minigptv2.num_image_tokens == 256
    assert (minigptv2.template.name, minigptv2.max_txt_len) == ('minigptv2', 1024)


def test_minigptv2_llm_has_128_lora_tensors_with_official_shapes_and_scaling(minigptv2):
    llm_shapes = shapes_under(minigptv2, 'llm.')
    lora = {'llm.' + k: v for k, v in llm_shapes.items() if '.lora_' in k}
    assert lora == official_minigptv2_lora_keys()
    assert len(lora) == 128
    # The frozen base weights keep their Llama-2 shapes under peft's base_layer.
    for i in (0, 31):
        for proj in ('q', 'k', 'v', 'o'):
            base = 'base_layer.' if proj in 'qv' else ''
            key = f'model.layers.{i}.self_attn.{proj}_proj.{base}weight'
            assert llm_shapes[key] == (4096, 4096)
    assert llm_shapes['model.embed_tokens.weight'] == (32000, 4096)
    assert llm_shapes['lm_head.weight'] == (32000, 4096)
    q_proj = minigptv2.llm.model.layers[0].self_attn.q_proj
    assert q_proj.scaling == {'default': 0.25}  # alpha 16 / r 64
    assert q_proj.lora_dropout['default'].p == 0.05
    # fp32 factors on the fp16 LLM, as peft 0.2.0 built them.
    assert (q_proj.lora_A['default'].weight.dtype, q_proj.base_layer.weight.dtype) == (
        torch.float32, torch.float16)


def test_minigptv2_trains_the_projection_and_lora_only(minigptv2):
    trainable = {n for n, p in minigptv2.named_parameters() if p.requires_grad}
    assert trainable == {'head.proj.weight', 'head.proj.bias', *official_minigptv2_lora_keys()}
    assert minigptv2.trainable_parameter_names() == trainable
