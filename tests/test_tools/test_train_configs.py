"""Training configs: official values, the official lr curve, full-size builds on ``meta``."""
import math
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope
from mmpretrain.registry import DATASETS, MODELS, PARAM_SCHEDULERS
from torch import nn

from conftest import REPO_ROOT, TINY_MODEL_CONFIG


CONFIGS = osp.join(REPO_ROOT, 'configs/minigpt4')
STAGE1 = ('stage1_pretrain', 'stage1_pretrain_vicuna-13b', 'stage1_pretrain_llama2-chat-7b',
          'stage1_pretrain_tiny')
STAGE2 = ('stage2', 'stage2_vicuna-13b', 'stage2_llama2-chat-7b', 'stage2_tiny')
LLAMA_7B = dict(model_type='llama', vocab_size=32001, hidden_size=4096, intermediate_size=11008,
                num_hidden_layers=32, num_attention_heads=32, num_key_value_heads=32)


def load(name: str) -> Config:
    return Config.fromfile(osp.join(CONFIGS, f'{name}.py'))


def official_linear_warmup_cosine_lr(cur_epoch, cur_step, iters_per_epoch, max_epoch,
                                     warmup_steps, init_lr, min_lr, warmup_lr):
    """LAVIS ``LinearWarmupCosineLRScheduler.step`` as the reference describes it (§4.1)."""
    total_step = cur_epoch * iters_per_epoch + cur_step
    if total_step < warmup_steps:
        return min(init_lr, warmup_lr + (init_lr - warmup_lr) * cur_step / max(warmup_steps, 1))
    return (init_lr - min_lr) * 0.5 * (
        1 + math.cos(math.pi * total_step / (max_epoch * iters_per_epoch))) + min_lr


def runner_learning_rates(cfg: Config, iterations: int) -> list:
    """The lr of every training iteration, stepped as MMEngine's ParamSchedulerHook does."""
    init_default_scope('mmpretrain')
    optim_wrapper = build_optim_wrapper(nn.Linear(2, 2), cfg.optim_wrapper)
    schedulers = [PARAM_SCHEDULERS.build(dict(s, optimizer=optim_wrapper))
                  for s in cfg.param_scheduler]
    rates = []
    for _ in range(iterations):
        rates.append(optim_wrapper.optimizer.param_groups[0]['lr'])
        optim_wrapper.step()
        for scheduler in schedulers:
            scheduler.step()
    return rates


@pytest.mark.parametrize('name, official', [
    ('stage1_pretrain', dict(init_lr=1e-4, min_lr=8e-5, warmup_lr=1e-6, warmup_steps=5000,
                             max_epoch=4, iters_per_epoch=5000)),
    ('stage2', dict(init_lr=3e-5, min_lr=1e-5, warmup_lr=1e-6, warmup_steps=200,
                    max_epoch=5, iters_per_epoch=200)),
])
def test_lr_curve_is_the_official_one_at_every_iteration(name, official):
    cfg = load(name)
    total = official['max_epoch'] * official['iters_per_epoch']
    assert cfg.train_cfg.max_iters == total
    rates = runner_learning_rates(cfg, total)
    expected = [
        official_linear_warmup_cosine_lr(epoch, step, **official)
        for epoch in range(official['max_epoch']) for step in range(official['iters_per_epoch'])]
    assert rates == pytest.approx(expected, rel=1e-12, abs=0)
    warmup = official['warmup_steps']
    assert rates[0] == official['warmup_lr']
    # No restart after the warm-up: the cosine is already past its start.
    assert rates[warmup] < official['init_lr']
    assert rates[warmup] == pytest.approx(official['min_lr'] + (
        official['init_lr'] - official['min_lr']) * 0.5 * (1 + math.cos(math.pi * warmup / total)))


@pytest.mark.parametrize('name', STAGE1 + STAGE2)
def test_official_optimiser_and_loop(name):
    cfg = load(name)
    assert cfg.optim_wrapper.optimizer == dict(
        type='AdamW', lr=cfg.optim_wrapper.optimizer.lr, betas=(0.9, 0.999), weight_decay=0.05)
    assert cfg.optim_wrapper.paramwise_cfg == dict(
        bias_decay_mult=0., norm_decay_mult=0., flat_decay_mult=0.)
    assert cfg.train_cfg.type == 'IterBasedTrainLoop'
    assert cfg.param_scheduler[0].type == 'LinearWarmupCosineLR'
    assert cfg.param_scheduler[0].by_epoch is False
    assert cfg.default_hooks.checkpoint.by_epoch is False
    assert cfg.train_dataloader.collate_fn == dict(type='default_collate')
    # Config.fromfile imports the plugin, which registers its training modules.
    assert cfg.custom_imports.imports == ['mmpretrain_minigpt4']


@pytest.mark.parametrize('name', STAGE1[:3])
def test_stage1_official_values(name):
    cfg = load(name)
    assert cfg.optim_wrapper.optimizer.lr == 1e-4
    assert cfg.param_scheduler[0] == dict(
        type='LinearWarmupCosineLR', warmup_iters=5000, warmup_start_lr=1e-6, eta_min=8e-5,
        begin=0, end=20000, by_epoch=False)
    assert cfg.train_cfg.max_iters == 20000
    assert cfg.default_hooks.checkpoint.interval == 5000
    loader = cfg.train_dataloader
    assert loader.batch_size == 64
    assert loader.batch_sampler == dict(type='SourceRatioBatchSampler', ratios=[115, 14])
    assert [d.data_root for d in loader.dataset.datasets] == [
        'data/laion_dataset', 'data/cc_sbu_dataset']
    assert (cfg.model.template, cfg.model.max_txt_len) == ('pretrain', 32)


@pytest.mark.parametrize('name', STAGE2[:3])
def test_stage2_official_values(name):
    cfg = load(name)
    assert cfg.optim_wrapper.optimizer.lr == 3e-5
    assert cfg.param_scheduler[0] == dict(
        type='LinearWarmupCosineLR', warmup_iters=200, warmup_start_lr=1e-6, eta_min=1e-5,
        begin=0, end=1000, by_epoch=False)
    assert cfg.train_cfg.max_iters == 1000
    assert cfg.default_hooks.checkpoint.interval == 200
    assert cfg.train_dataloader.batch_size == 12
    assert cfg.train_dataloader.dataset.type == 'CCSBUAlignDataset'
    assert cfg.model.max_txt_len == 160
    assert cfg.load_from.startswith('work_dirs/stage1_pretrain')


@pytest.mark.parametrize('name', STAGE1[:3] + STAGE2[:3])
def test_frozen_weights_are_loaded_at_init(name):
    """Not by load_from / --resume: their checkpoints hold the projection only."""
    init_cfg = load(name).model.init_cfg
    assert init_cfg.type == 'Pretrained'
    expected = 'eva-vit-g.pth' if 'llama2' in name else 'eva-vit-g_qformer.pth'
    assert init_cfg.checkpoint == f'checkpoints/minigpt4_frozen_{expected}'


@pytest.mark.parametrize('name', STAGE1 + STAGE2)
def test_the_template_is_set_by_the_model_alone(name):
    cfg = load(name)
    dataset = cfg.train_dataloader.dataset
    pipelines = [d.pipeline for d in dataset.datasets] if 'datasets' in dataset else [
        dataset.pipeline]
    for pipeline in pipelines:
        assert not any('template' in t for t in pipeline)
        drawn = [t for t in pipeline if t['type'] == 'RandomInstruction']
        assert len(drawn) == (name.startswith('stage2'))  # stage 1 has no instruction
    assert cfg.model.template == {'stage1': 'pretrain', 'stage2': (
        'llama2' if 'llama2' in name else 'vicuna_v0')}[name[:6]]


@pytest.mark.parametrize('name', ['stage1_pretrain_tiny', 'stage2_tiny'])
def test_tiny_configs_use_the_shipped_mini_data(name):
    dataset = load(name).train_dataloader.dataset
    for source in dataset.get('datasets', [dataset]):
        assert osp.isdir(osp.join(REPO_ROOT, source.data_root))
        assert source.data_root.startswith('tests/data/minigpt4_mini/')


def build_full_size_on_meta(cfg: Config):
    """The model of a full-size config with a real 7B Llama config, on ``meta`` (no memory)."""
    llm = cfg.model.llm
    cfg.model.llm = dict(type='HFCausalLM', config=LLAMA_7B, dtype=llm.dtype)
    cfg.model.tokenizer = Config.fromfile(TINY_MODEL_CONFIG).model.tokenizer
    with torch.device('meta'):
        return MODELS.build(cfg.model)


@pytest.mark.parametrize('name, template, max_txt_len',
                         [('stage1_pretrain', 'pretrain', 32), ('stage2', 'vicuna_v0', 160)])
def test_full_size_config_builds_on_meta_with_official_parameter_groups(
        name, template, max_txt_len):
    cfg = load(name)
    model = build_full_size_on_meta(cfg)
    assert model.template.name == template
    assert model.max_txt_len == max_txt_len
    assert model.llm.config.hidden_size == 4096
    assert model.head.proj.weight.shape == (4096, 768)
    assert model.vision_encoder.embed_dim == 1408 and len(model.vision_encoder.blocks) == 39
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert trainable == {'head.proj.weight', 'head.proj.bias'}

    optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    groups = {id(p): g for g in optim_wrapper.optimizer.param_groups for p in g['params']}
    weight, bias = groups[id(model.head.proj.weight)], groups[id(model.head.proj.bias)]
    lr = cfg.optim_wrapper.optimizer.lr
    assert (weight['lr'], weight['weight_decay']) == (lr, 0.05)
    assert (bias['lr'], bias['weight_decay']) == (lr, 0.0)
    assert type(optim_wrapper.optimizer).__name__ == 'AdamW'


def test_random_resized_crop_variant_by_inheritance(tmp_path):
    """The augmentation of the released checkpoints, as docs/training.md shows it."""
    child = tmp_path / 'stage2_tiny_rrc.py'
    child.write_text(
        f"_base_ = ['{CONFIGS}/stage2_tiny.py']\n"
        "train_dataloader = dict(dataset=dict(pipeline=[\n"
        "    dict(type='RandomResizedCrop', scale=224, crop_ratio_range=(0.5, 1.0),\n"
        "         interpolation='bicubic', backend='pillow'),\n"
        "    *_base_.train_pipeline[1:]]))\n")
    cfg = Config.fromfile(str(child))
    dataset_cfg = cfg.train_dataloader.dataset
    dataset_cfg.data_root = osp.join(REPO_ROOT, dataset_cfg.data_root)
    init_default_scope('mmpretrain')
    dataset = DATASETS.build(dataset_cfg)
    packed = dataset[0]
    assert packed['inputs'].shape == (3, 224, 224)
    assert [t['type'] for t in cfg.train_dataloader.dataset.pipeline] == [
        'RandomResizedCrop', 'RandomInstruction', 'PackInputs']


@pytest.mark.parametrize('arguments, message', [
    (dict(by_epoch=True, end=10), 'per iteration: set by_epoch=False'),
    (dict(), 'needs `end`, the total number of iterations'),
    (dict(end=10, warmup_iters=10), r'warmup_iters=10 must lie in \[0, end - begin\)'),
])
def test_lr_scheduler_rejects_settings_it_cannot_follow(arguments, message):
    init_default_scope('mmpretrain')
    optim_wrapper = build_optim_wrapper(nn.Linear(2, 2), dict(optimizer=dict(type='AdamW', lr=1)))
    settings = dict(type='LinearWarmupCosineLR', warmup_iters=2, warmup_start_lr=0.1, eta_min=0.5,
                    optimizer=optim_wrapper)
    with pytest.raises(ValueError, match=message):
        PARAM_SCHEDULERS.build({**settings, **arguments})
