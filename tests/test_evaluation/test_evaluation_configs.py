"""The full-size benchmark configs (configs/minigpt4/evaluation/): official decoding and
prompts, and their tiny variants (which the tool tests run) differ from them only in model
size and data location."""
import glob
import os.path as osp

import pytest
from mmengine.config import Config
from mmpretrain.registry import DATASETS, METRICS, TRANSFORMS

import mmpretrain_minigpt4.evaluation  # noqa: F401

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
EVALUATION_CONFIGS = osp.join(REPO_ROOT, 'configs', 'minigpt4', 'evaluation')
NAMES = ['coco-caption', 'gqa', 'okvqa', 'scienceqa-img', 'textvqa', 'vizwiz', 'vqav2', 'vsr']
OFFICIAL_DECODING = dict(max_new_tokens=20, num_beams=1, do_sample=False, min_length=1,
                         repetition_penalty=1.0, length_penalty=1.0)


def load(path):
    return Config.fromfile(path)


def test_every_benchmark_has_a_full_size_and_a_tiny_config():
    full = sorted(osp.basename(p) for p in glob.glob(osp.join(EVALUATION_CONFIGS, '*.py')))
    tiny = sorted(osp.basename(p)
                  for p in glob.glob(osp.join(EVALUATION_CONFIGS, 'tiny', '*.py')))
    assert full == [f'minigpt4_vicuna-7b_{n}.py' for n in NAMES]
    assert tiny == [f'minigpt4_tiny_{n}.py' for n in NAMES]


@pytest.mark.parametrize('name', NAMES)
def test_full_size_config(name):
    cfg = load(osp.join(EVALUATION_CONFIGS, f'minigpt4_vicuna-7b_{name}.py'))
    assert cfg.model.llm.dtype == 'float16' and cfg.model.template == 'vicuna_v0'
    assert cfg.model.generation_cfg == OFFICIAL_DECODING
    assert cfg.custom_imports.imports == ['mmpretrain_minigpt4']  # registers evaluation too
    assert cfg.test_dataloader.collate_fn == dict(type='default_collate')
    assert cfg.test_dataloader.sampler == dict(type='ImageGroupedSampler')
    assert cfg.default_hooks.visualization.type == 'PredictionVisualizationHook'
    dataset = cfg.test_dataloader.dataset
    assert DATASETS.get(dataset.type) is not None
    assert METRICS.get(cfg.test_evaluator.type) is not None
    assert all(TRANSFORMS.get(t['type']) is not None for t in dataset.pipeline)
    assert dict(dataset.pipeline[1]) == dict(type='Resize', scale=(224, 224),
                                             interpolation='bicubic', backend='pillow')
    assert not dataset.data_root.startswith('tests')


def test_benchmark_prompts():
    def instruction(name):
        config = load(osp.join(EVALUATION_CONFIGS, f'minigpt4_vicuna-7b_{name}.py'))
        return config.model.vqa_instruction
    short = 'Based on the image, respond to this question with a short answer: {}'
    assert instruction('okvqa') == instruction('gqa') == instruction('vqav2') == short
    assert instruction('vsr') == 'Based on the image, is this statement true or false? {}'
    assert instruction('vizwiz').startswith("The question is '{}' Based on the image")
    assert load(osp.join(EVALUATION_CONFIGS, 'minigpt4_vicuna-7b_coco-caption.py')
                ).model.caption_instruction == 'Briefly describe this image.'


@pytest.mark.parametrize('name', NAMES)
def test_tiny_variant_differs_only_in_model_and_data_location(name):
    full = load(osp.join(EVALUATION_CONFIGS, f'minigpt4_vicuna-7b_{name}.py')).to_dict()
    tiny = load(osp.join(EVALUATION_CONFIGS, 'tiny', f'minigpt4_tiny_{name}.py')).to_dict()
    assert tiny['model']['llm']['config']['hidden_size'] == 64
    for key in ('generation_cfg', 'vqa_instruction', 'caption_instruction'):
        assert tiny['model'].get(key) == full['model'].get(key)
    for cfg in (full, tiny):
        del cfg['model']
        cfg['test_dataloader']['num_workers'] = 0
        cfg['test_dataloader']['dataset']['data_root'] = '<data_root>'
        cfg['test_evaluator'].pop('ann_file', None)
    assert tiny == full
