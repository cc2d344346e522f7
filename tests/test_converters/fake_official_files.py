"""Fake official MiniGPT-4 weight files: the real files' key names and layout, tiny widths.

``TINY`` widths follow ``configs/minigpt4/_base_/models/minigpt4_tiny.py``: ViT
32 dims, MLP 64, 2 blocks (the fake EVA file has 3, like the real one's extra
40th); Q-Former 32 dims, 2 layers, FFN 64, 32 queries, cross-attention in
layer 0; projection Linear(32, 64). ``FULL_SIZE`` are the real files' shapes
(reference §3), as meta tensors: no memory, same keys and shapes.
"""
import os.path as osp
from typing import NamedTuple

import torch



class Widths(NamedTuple):
    vit: int = 32
    vit_mlp: int = 64
    vit_blocks_in_file: int = 3
    qformer: int = 32
    qformer_ffn: int = 64
    qformer_layers: int = 2
    llm: int = 64
    device: str = 'cpu'


TINY = Widths()
FULL_SIZE = Widths(vit=1408, vit_mlp=6144, vit_blocks_in_file=40, qformer=768, qformer_ffn=3072,
                   qformer_layers=12, llm=4096, device='meta')
NUM_QUERIES, VIT_GRID = 32, 16


class FakeTensors:
    """Seeded random tensors, each different (shape-only on the meta device)."""

    def __init__(self, seed: int, device: str = 'cpu'):
        self.generator = torch.Generator().manual_seed(seed)
        self.device = device

    def __call__(self, *shape):
        if self.device == 'meta':
            return torch.empty(*shape, device='meta')
        return torch.randn(*shape, generator=self.generator)


def _linear(tensors, prefix, out_dims, in_dims, bias=True):
    weights = {prefix + 'weight': tensors(out_dims, in_dims)}
    if bias:
        weights[prefix + 'bias'] = tensors(out_dims)
    return weights


def _norm(tensors, prefix, dims):
    return {prefix + 'weight': tensors(dims), prefix + 'bias': tensors(dims)}


def fake_eva_vit_g(seed: int = 1, widths: Widths = TINY, dtype=torch.float32) -> dict:
    """``eva_vit_g.pth``: a bare state dict, official key names and order."""
    t = FakeTensors(seed, widths.device)
    vit_dims, vit_mlp = widths.vit, widths.vit_mlp
    sd = {
        'cls_token': t(1, 1, vit_dims),
        'pos_embed': t(1, VIT_GRID * VIT_GRID + 1, vit_dims),
        'patch_embed.proj.weight': t(vit_dims, 3, 14, 14),
        'patch_embed.proj.bias': t(vit_dims),
    }
    for i in range(widths.vit_blocks_in_file):
        block = f'blocks.{i}.'
        sd.update(_norm(t, block + 'norm1.', vit_dims))
        sd[block + 'attn.q_bias'] = t(vit_dims)
        sd[block + 'attn.v_bias'] = t(vit_dims)
        sd[block + 'attn.qkv.weight'] = t(3 * vit_dims, vit_dims)
        sd.update(_linear(t, block + 'attn.proj.', vit_dims, vit_dims))
        sd.update(_norm(t, block + 'norm2.', vit_dims))
        sd.update(_linear(t, block + 'mlp.fc1.', vit_mlp, vit_dims))
        sd.update(_linear(t, block + 'mlp.fc2.', vit_dims, vit_mlp))
    return {key: value.to(dtype) for key, value in sd.items()}


def fake_blip2_model(seed: int = 2, with_text_parts: bool = False, widths: Widths = TINY) -> dict:
    """``blip2_pretrained_flant5xxl.pth['model']``: the stripped LAVIS Q-Former,
    ``query_tokens``, ``ln_vision``, the ``position_ids`` buffer and ``t5_proj``.

    ``with_text_parts`` adds what a stage-1 BLIP-2 file also holds (text
    embeddings, text FFN, MLM head).
    """
    t = FakeTensors(seed, widths.device)
    vit_dims, hidden, ffn = widths.vit, widths.qformer, widths.qformer_ffn
    sd = {'query_tokens': t(1, NUM_QUERIES, hidden)}
    sd.update(_norm(t, 'ln_vision.', vit_dims))
    sd['Qformer.bert.embeddings.position_ids'] = torch.arange(512).expand(1, -1)
    sd.update(_norm(t, 'Qformer.bert.embeddings.LayerNorm.', hidden))
    if with_text_parts:
        sd['Qformer.bert.embeddings.word_embeddings.weight'] = t(30522, hidden)
        sd['Qformer.bert.embeddings.position_embeddings.weight'] = t(512, hidden)
    for i in range(widths.qformer_layers):
        layer = f'Qformer.bert.encoder.layer.{i}.'
        attentions = ['attention'] + (['crossattention'] if i % 2 == 0 else [])
        for attention in attentions:
            kv_dims = vit_dims if attention == 'crossattention' else hidden
            sd.update(_linear(t, f'{layer}{attention}.self.query.', hidden, hidden))
            sd.update(_linear(t, f'{layer}{attention}.self.key.', hidden, kv_dims))
            sd.update(_linear(t, f'{layer}{attention}.self.value.', hidden, kv_dims))
            sd.update(_linear(t, f'{layer}{attention}.output.dense.', hidden, hidden))
            sd.update(_norm(t, f'{layer}{attention}.output.LayerNorm.', hidden))
        if with_text_parts:
            sd.update(_linear(t, layer + 'intermediate.dense.', ffn, hidden))
            sd.update(_linear(t, layer + 'output.dense.', hidden, ffn))
            sd.update(_norm(t, layer + 'output.LayerNorm.', hidden))
        sd.update(_linear(t, layer + 'intermediate_query.dense.', ffn, hidden))
        sd.update(_linear(t, layer + 'output_query.dense.', hidden, ffn))
        sd.update(_norm(t, layer + 'output_query.LayerNorm.', hidden))
    if with_text_parts:
        sd['Qformer.cls.predictions.bias'] = t(30522)
    sd.update(_linear(t, 't5_proj.', 4096, hidden))
    return sd


def fake_minigpt4_checkpoint(seed: int = 3, in_dims: int = TINY.qformer,
                             widths: Widths = TINY) -> dict:
    """``pretrained_minigpt4_7b.pth``: what the official runner saves: trainable
    ``llama_proj`` plus buffers, optimizer, config, scaler, epoch."""
    t = FakeTensors(seed, widths.device)
    model = _linear(t, 'llama_proj.', widths.llm, in_dims)
    model['Qformer.bert.embeddings.position_ids'] = torch.arange(512).expand(1, -1)
    for i in range(2):
        model[f'llama_model.model.layers.{i}.self_attn.rotary_emb.inv_freq'] = t(8)
    return dict(
        model=model,
        optimizer=dict(state={0: dict(step=torch.tensor(5.), exp_avg=t(widths.llm))},
                       param_groups=[dict(lr=3e-5, params=[0, 1])]),
        config=dict(model=dict(arch='mini_gpt4'), run=dict(max_epoch=5)),
        scaler=dict(scale=65536.0, growth_factor=2.0),
        epoch=4)


def fake_minigptv2_model(peft_naming: str = 'peft 0.2.0', seed: int = 4, widths: Widths = TINY,
                         layers: int = 2, rank: int = 4) -> dict:
    """``minigptv2_checkpoint.pth['model']``: ``llama_proj`` (4 ViT tokens merged) plus LoRA on
    every ``q_proj`` / ``v_proj``, in peft 0.2.0's spelling (``lora_A.weight``) or newer peft's
    (``lora_A.default.weight``)."""
    t = FakeTensors(seed, widths.device)
    sd = fake_minigpt4_checkpoint(in_dims=4 * widths.vit, widths=widths)['model']
    suffix = 'weight' if peft_naming == 'peft 0.2.0' else 'default.weight'
    for i in range(layers):
        for proj in ('q_proj', 'v_proj'):
            module = f'llama_model.base_model.model.model.layers.{i}.self_attn.{proj}'
            sd[f'{module}.lora_A.{suffix}'] = t(rank, widths.llm)
            sd[f'{module}.lora_B.{suffix}'] = t(widths.llm, rank)
    return sd


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


def write_official_files(tmp_path) -> dict:
    """Write and return the paths of fake ``eva_vit_g.pth``, ``blip2_pretrained_flant5xxl.pth`` and
    ``pretrained_minigpt4_7b.pth``."""
    files = dict(eva_vit=osp.join(tmp_path, 'eva_vit_g.pth'),
                 blip2=osp.join(tmp_path, 'blip2_pretrained_flant5xxl.pth'),
                 minigpt4=osp.join(tmp_path, 'pretrained_minigpt4_7b.pth'))
    torch.save(fake_eva_vit_g(), files['eva_vit'])
    torch.save(dict(model=fake_blip2_model(), epoch=9), files['blip2'])
    torch.save(fake_minigpt4_checkpoint(), files['minigpt4'])
    return files
