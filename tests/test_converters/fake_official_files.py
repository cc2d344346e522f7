"""Fake official MiniGPT-4 weight files: the real files' key names and layout at the tiny model's widths.

Widths follow ``configs/minigpt4/_base_/models/minigpt4_tiny.py``: ViT 32 dims,
MLP 64, 2 blocks (the fake EVA file has 3, like the real one's extra 40th);
Q-Former 32 dims, 2 layers, FFN 64, 32 queries, cross-attention in layer 0;
projection Linear(32, 64).
"""
import os.path as osp

import pytest
import torch

VIT_DIMS, VIT_MLP, VIT_FILE_BLOCKS, VIT_GRID = 32, 64, 3, 16
QFORMER_DIMS, QFORMER_FFN, QFORMER_LAYERS, NUM_QUERIES = 32, 64, 2, 32
LLM_DIMS = 64


class FakeTensors:
    """Seeded random tensors, each different."""

    def __init__(self, seed: int):
        self.generator = torch.Generator().manual_seed(seed)

    def __call__(self, *shape, dtype=torch.float32):
        return torch.randn(*shape, generator=self.generator).to(dtype)


def _linear(tensors, prefix, out_dims, in_dims, bias=True):
    weights = {prefix + 'weight': tensors(out_dims, in_dims)}
    if bias:
        weights[prefix + 'bias'] = tensors(out_dims)
    return weights


def _norm(tensors, prefix, dims):
    return {prefix + 'weight': tensors(dims), prefix + 'bias': tensors(dims)}


def fake_eva_vit_g(seed: int = 1, num_blocks: int = VIT_FILE_BLOCKS, grid: int = VIT_GRID,
                   dtype=torch.float32) -> dict:
    """``eva_vit_g.pth``: a bare state dict, official key names and order."""
    t = FakeTensors(seed)
    sd = {
        'cls_token': t(1, 1, VIT_DIMS),
        'pos_embed': t(1, grid * grid + 1, VIT_DIMS),
        'patch_embed.proj.weight': t(VIT_DIMS, 3, 14, 14),
        'patch_embed.proj.bias': t(VIT_DIMS),
    }
    for i in range(num_blocks):
        block = f'blocks.{i}.'
        sd.update(_norm(t, block + 'norm1.', VIT_DIMS))
        sd[block + 'attn.q_bias'] = t(VIT_DIMS)
        sd[block + 'attn.v_bias'] = t(VIT_DIMS)
        sd[block + 'attn.qkv.weight'] = t(3 * VIT_DIMS, VIT_DIMS)
        sd.update(_linear(t, block + 'attn.proj.', VIT_DIMS, VIT_DIMS))
        sd.update(_norm(t, block + 'norm2.', VIT_DIMS))
        sd.update(_linear(t, block + 'mlp.fc1.', VIT_MLP, VIT_DIMS))
        sd.update(_linear(t, block + 'mlp.fc2.', VIT_DIMS, VIT_MLP))
    return {key: value.to(dtype) for key, value in sd.items()}


def fake_blip2_model(seed: int = 2, with_text_parts: bool = False) -> dict:
    """``blip2_pretrained_flant5xxl.pth['model']``: the stripped LAVIS Q-Former,
    ``query_tokens``, ``ln_vision``, the ``position_ids`` buffer and ``t5_proj``.

    ``with_text_parts`` adds what a stage-1 BLIP-2 file also holds (text
    embeddings, text FFN, MLM head).
    """
    t = FakeTensors(seed)
    sd = {'query_tokens': t(1, NUM_QUERIES, QFORMER_DIMS)}
    sd.update(_norm(t, 'ln_vision.', VIT_DIMS))
    sd['Qformer.bert.embeddings.position_ids'] = torch.arange(512).expand(1, -1)
    sd.update(_norm(t, 'Qformer.bert.embeddings.LayerNorm.', QFORMER_DIMS))
    if with_text_parts:
        sd['Qformer.bert.embeddings.word_embeddings.weight'] = t(30522, QFORMER_DIMS)
        sd['Qformer.bert.embeddings.position_embeddings.weight'] = t(512, QFORMER_DIMS)
    for i in range(QFORMER_LAYERS):
        layer = f'Qformer.bert.encoder.layer.{i}.'
        attentions = ['attention'] + (['crossattention'] if i % 2 == 0 else [])
        for attention in attentions:
            kv_dims = VIT_DIMS if attention == 'crossattention' else QFORMER_DIMS
            sd.update(_linear(t, f'{layer}{attention}.self.query.', QFORMER_DIMS, QFORMER_DIMS))
            sd.update(_linear(t, f'{layer}{attention}.self.key.', QFORMER_DIMS, kv_dims))
            sd.update(_linear(t, f'{layer}{attention}.self.value.', QFORMER_DIMS, kv_dims))
            sd.update(_linear(t, f'{layer}{attention}.output.dense.', QFORMER_DIMS, QFORMER_DIMS))
            sd.update(_norm(t, f'{layer}{attention}.output.LayerNorm.', QFORMER_DIMS))
        if with_text_parts:
            sd.update(_linear(t, layer + 'intermediate.dense.', QFORMER_FFN, QFORMER_DIMS))
            sd.update(_linear(t, layer + 'output.dense.', QFORMER_DIMS, QFORMER_FFN))
            sd.update(_norm(t, layer + 'output.LayerNorm.', QFORMER_DIMS))
        sd.update(_linear(t, layer + 'intermediate_query.dense.', QFORMER_FFN, QFORMER_DIMS))
        sd.update(_linear(t, layer + 'output_query.dense.', QFORMER_DIMS, QFORMER_FFN))
        sd.update(_norm(t, layer + 'output_query.LayerNorm.', QFORMER_DIMS))
    if with_text_parts:
        sd['Qformer.cls.predictions.bias'] = t(30522)
    sd.update(_linear(t, 't5_proj.', 4096 // 64, QFORMER_DIMS))
    return sd


def fake_minigpt4_checkpoint(seed: int = 3, in_dims: int = QFORMER_DIMS) -> dict:
    """``pretrained_minigpt4_7b.pth``: what the official runner saves: trainable
    ``llama_proj`` plus buffers, optimizer, config, scaler, epoch."""
    t = FakeTensors(seed)
    model = _linear(t, 'llama_proj.', LLM_DIMS, in_dims)
    model['Qformer.bert.embeddings.position_ids'] = torch.arange(512).expand(1, -1)
    for i in range(2):
        model[f'llama_model.model.layers.{i}.self_attn.rotary_emb.inv_freq'] = t(8)
    return dict(
        model=model,
        optimizer=dict(state={0: dict(step=torch.tensor(5.), exp_avg=t(LLM_DIMS))},
                       param_groups=[dict(lr=3e-5, params=[0, 1])]),
        config=dict(model=dict(arch='mini_gpt4'), run=dict(max_epoch=5)),
        scaler=dict(scale=65536.0, growth_factor=2.0),
        epoch=4)


def fake_mmpretrain_eva_vit(seed: int = 1) -> dict:
    """mmpretrain's ``minigpt-4_eva-g-p14_*.pth``: the same tensors as
    :func:`fake_eva_vit_g` (same seed) in ``BEiTViT`` names, under ``state_dict``."""
    official = fake_eva_vit_g(seed)
    parts = {'norm1.': 'ln1.', 'norm2.': 'ln2.', 'mlp.fc1.': 'ffn.layers.0.0.',
             'mlp.fc2.': 'ffn.layers.1.', 'attn.': 'attn.'}
    sd = {}
    for key, value in official.items():
        if key.startswith('blocks.'):
            _, index, rest = key.split('.', 2)
            part = next(p for p in parts if rest.startswith(p))
            key = f'layers.{index}.{parts[part]}{rest[len(part):]}'
        sd[key.replace('patch_embed.proj.', 'patch_embed.projection.')] = value
    return dict(meta=dict(mmpretrain_version='1.0.0rc8'), state_dict=sd)


def fake_mmpretrain_qformer(seed: int = 2) -> dict:
    """mmpretrain's ``minigpt-4_qformer_*.pth``: LAVIS keys under ``q_former.``."""
    sd = {key.replace('Qformer.', 'q_former.', 1): value
          for key, value in fake_blip2_model(seed).items() if not key.startswith('t5_proj.')}
    return dict(state_dict=sd)


@pytest.fixture
def official_files(tmp_path):
    """Paths of fake ``eva_vit_g.pth``, ``blip2_pretrained_flant5xxl.pth``, ``pretrained_minigpt4_7b.pth``."""
    files = dict(eva_vit=osp.join(tmp_path, 'eva_vit_g.pth'),
                 blip2=osp.join(tmp_path, 'blip2_pretrained_flant5xxl.pth'),
                 minigpt4=osp.join(tmp_path, 'pretrained_minigpt4_7b.pth'))
    torch.save(fake_eva_vit_g(), files['eva_vit'])
    torch.save(dict(model=fake_blip2_model(), epoch=9), files['blip2'])
    torch.save(fake_minigpt4_checkpoint(), files['minigpt4'])
    return files
