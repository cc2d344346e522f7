"""MiniGPT-v2 stage 3 at CPU size (configs/minigpt4/stage3_minigptv2_tiny.py): every one of
the 22 datasets of the official mixture gives a batch the tiny v2 model trains on; training
moves the projection and the LoRA factors only; checkpoints hold those; resume is bit-exact;
and the full-size config is the official mixture and schedule."""
import os.path as osp
import shutil

import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import default_collate
from mmengine.registry import DefaultScope
from mmpretrain.registry import DATASETS, MODELS

from conftest import REPO_ROOT
from test_train import ONE_THREAD, checkpoint, logged_losses, train

STAGE3_TINY = 'configs/minigpt4/stage3_minigptv2_tiny.py'
STAGE3 = 'configs/minigpt4/stage3_minigptv2.py'
NUM_LORA_TENSORS = 2 * 2 * 2  # 2 layers x {q_proj, v_proj} x {A, B}
# minigptv2_finetune.yaml: dataset -> (batch size, sample ratio), in the config's order.
OFFICIAL_MIXTURE = [
    ('MultitaskConversationDataset', 2, 50), ('LlavaConversationDataset', 2, 30),
    ('UnnaturalInstructionDataset', 1, 10), ('ReferVisualGenomeDataset', 6, 40),
    ('LlavaDetailDataset', 4, 20), ('LlavaReasonDataset', 4, 80),
    ('FlickrGroundedCaptionDataset', 2, 80), ('FlickrCaptionToPhraseDataset', 2, 80),
    ('FlickrObjectToPhraseDataset', 2, 80), ('COCOCaptionTrainDataset', 6, 10),
    ('TextCapsTrainDataset', 6, 30), ('ReferCOCODataset', 6, 25), ('ReferCOCODataset', 6, 25),
    ('ReferCOCODataset', 6, 25), ('InvReferCOCODataset', 6, 10),
    ('InvReferCOCODataset', 6, 10), ('InvReferCOCODataset', 6, 10),
    ('COCOVQATrainDataset', 6, 15), ('OKVQATrainDataset', 6, 8), ('AOKVQATrainDataset', 6, 12),
    ('GQATrainDataset', 6, 50), ('OCRVQATrainDataset', 6, 30),
]


def test_full_size_config_is_the_official_mixture_and_schedule():
    cfg = Config.fromfile(osp.join(REPO_ROOT, STAGE3))
    loader = cfg.train_dataloader
    datasets = loader.dataset.datasets
    assert [(d.type, size, ratio) for d, size, ratio in zip(
        datasets, loader.batch_sampler.batch_sizes, loader.batch_sampler.ratios)
    ] == OFFICIAL_MIXTURE
    assert all(d.data_root == 'data/minigptv2' for d in datasets)
    assert [d.get('ann_file') for d in datasets[11:14]] == [
        None, 'refcoco_annotations/refcoco+/refs(unc).p', 'refcoco_annotations/refcocog/refs(umd).p']
    assert cfg.model.template == 'minigptv2' and cfg.model.max_txt_len == 1024
    assert cfg.model.llm.lora == dict(r=64, alpha=16, dropout=0.05,
                                      target_modules=['q_proj', 'v_proj'])
    assert cfg.optim_wrapper.optimizer.lr == 1e-5
    assert cfg.optim_wrapper.optimizer.weight_decay == 0.05
    assert cfg.param_scheduler == [dict(type='LinearWarmupCosineLR', warmup_iters=1000,
                                        warmup_start_lr=1e-6, eta_min=1e-6, begin=0, end=50000,
                                        by_epoch=False)]
    assert cfg.train_cfg.max_iters == 50000 and cfg.default_hooks.checkpoint.interval == 1000


@pytest.fixture(scope='module')
def tiny_cfg():
    return Config.fromfile(osp.join(REPO_ROOT, STAGE3_TINY))


@pytest.fixture(scope='module')
def tiny_v2(tiny_cfg):
    torch.manual_seed(0)
    return MODELS.build(tiny_cfg.model)


@pytest.mark.parametrize('index', range(len(OFFICIAL_MIXTURE)))
def test_every_dataset_of_the_mixture_trains_the_tiny_model(tiny_cfg, tiny_v2, index):
    cfg = tiny_cfg.train_dataloader.dataset.datasets[index]
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        dataset = DATASETS.build(dict(cfg, data_root=osp.join(REPO_ROOT, cfg.data_root)))
    batch = default_collate([dataset[i % len(dataset)] for i in range(2)])
    data = tiny_v2.data_preprocessor(batch, training=True)
    text_only = OFFICIAL_MIXTURE[index][0] == 'UnnaturalInstructionDataset'
    assert (data['images'] is None) == text_only
    tiny_v2.train()
    tiny_v2.zero_grad()
    loss = tiny_v2.loss(data['images'], data['data_samples'])['loss']
    loss.backward()
    assert torch.isfinite(loss) and loss > 0
    lora_grads = [p.grad for n, p in tiny_v2.named_parameters() if 'lora_B' in n]
    assert all(g is not None and g.abs().sum() > 0 for g in lora_grads)
    assert (tiny_v2.head.proj.weight.grad is None) == text_only
    assert all(p.grad is None for n, p in tiny_v2.named_parameters() if not p.requires_grad)


@pytest.fixture(scope='module')
def stage3_run(tmp_path_factory):
    """8 iterations of the tiny stage 3 (checkpoints at 4 and 8)."""
    tmp_path = tmp_path_factory.mktemp('stage3')
    train(STAGE3_TINY, tmp_path / 'work', tmp_path, '--cfg-options', 'train_cfg.max_iters=8',
          **ONE_THREAD)
    return tmp_path / 'work'


def test_stage3_trains_the_projection_and_lora_only(stage3_run):
    assert len(logged_losses(stage3_run)) == 8
    at_4, at_8 = checkpoint(stage3_run, 4)['state_dict'], checkpoint(stage3_run, 8)['state_dict']
    lora = {k for k in at_8 if '.lora_' in k}
    assert set(at_8) == {'head.proj.weight', 'head.proj.bias', *lora}
    assert len(lora) == NUM_LORA_TENSORS
    assert all(at_4[k].abs().sum() > 0 for k in lora if 'lora_B' in k)  # B starts at zero
    assert all(not torch.equal(at_4[k], at_8[k]) for k in at_8)


def test_interrupted_stage3_resumes_to_the_same_weights(stage3_run, tmp_path):
    work_dir = tmp_path / 'work'
    work_dir.mkdir()
    shutil.copy(stage3_run / 'iter_4.pth', work_dir / 'iter_4.pth')
    (work_dir / 'last_checkpoint').write_text(str(work_dir / 'iter_4.pth'))
    resumed = train(STAGE3_TINY, work_dir, tmp_path, '--resume',
                    '--cfg-options', 'train_cfg.max_iters=8', **ONE_THREAD)
    assert 'resumed epoch: 0, iter: 4' in resumed.stdout + resumed.stderr
    expected, got = checkpoint(stage3_run, 8), checkpoint(work_dir, 8)
    for key, value in expected['state_dict'].items():
        assert torch.equal(got['state_dict'][key], value), key
