"""The full-size benchmark configs (configs/minigpt4/evaluation/): official decoding and
prompts (MiniGPT-4 at 224 px, MiniGPT-v2 at 448 px with its task tokens), and their tiny
variants (which the tool tests run) differ from them only in model size and data location."""
import glob
import os.path as osp

import pytest
from mmengine.config import Config
from mmpretrain.registry import DATASETS, METRICS, TRANSFORMS

import mmpretrain_minigpt4.evaluation  # noqa: F401
from mmpretrain_minigpt4.grounding import REFER_EVALUATION_INSTRUCTION

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
EVALUATION_CONFIGS = osp.join(REPO_ROOT, 'configs', 'minigpt4', 'evaluation')
NAMES = ['coco-caption', 'gqa', 'okvqa', 'scienceqa-img', 'textvqa', 'vizwiz', 'vqav2', 'vsr']
# MiniGPT-v2 config name -> the official eval_data file of each RefCOCO split.
REFCOCO_SPLITS = {
    'refcoco-val': 'refcoco_val', 'refcoco-testA': 'refcoco_testA',
    'refcoco-testB': 'refcoco_testB', 'refcocoplus-val': 'refcoco+_val',
    'refcocoplus-testA': 'refcoco+_testA', 'refcocoplus-testB': 'refcoco+_testB',
    'refcocog-val': 'refcocog_val', 'refcocog-test': 'refcocog_test'}
V2_NAMES = [*REFCOCO_SPLITS, 'gqa', 'hateful-memes', 'iconqa', 'okvqa', 'vizwiz', 'vsr']
V1, V2 = ('minigpt4_vicuna-7b', 'minigpt4_tiny'), ('minigptv2_llama2-chat-7b', 'minigptv2_tiny')
OFFICIAL_DECODING = dict(max_new_tokens=20, num_beams=1, do_sample=False, min_length=1,
                         repetition_penalty=1.0, length_penalty=1.0)


def load(path):
    return Config.fromfile(path)


def test_every_benchmark_has_a_full_size_and_a_tiny_config():
    full = sorted(osp.basename(p) for p in glob.glob(osp.join(EVALUATION_CONFIGS, '*.py')))
    tiny = sorted(osp.basename(p)
                  for p in glob.glob(osp.join(EVALUATION_CONFIGS, 'tiny', '*.py')))
    assert full == sorted([f'minigpt4_vicuna-7b_{n}.py' for n in NAMES]
                          + [f'minigptv2_llama2-chat-7b_{n}.py' for n in V2_NAMES])
    assert tiny == sorted([f'minigpt4_tiny_{n}.py' for n in NAMES]
                          + [f'minigptv2_tiny_{n}.py' for n in V2_NAMES])


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


@pytest.mark.parametrize('name', V2_NAMES)
def test_minigptv2_full_size_config(name):
    cfg = load(osp.join(EVALUATION_CONFIGS, f'minigptv2_llama2-chat-7b_{name}.py'))
    model = cfg.model
    assert model.template == 'minigptv2' and model.llm.dtype == 'float16'
    assert model.vision_encoder.img_size == 448 and model.llm.lora.r == 64
    assert model.generation_cfg == OFFICIAL_DECODING  # VizWiz: repetition_penalty 1.0 too
    assert cfg.test_dataloader.batch_size == 10
    assert cfg.test_dataloader.sampler == dict(type='ImageGroupedSampler')
    dataset = cfg.test_dataloader.dataset
    assert DATASETS.get(dataset.type) is not None
    assert METRICS.get(cfg.test_evaluator.type) is not None
    assert all(TRANSFORMS.get(t['type']) is not None for t in dataset.pipeline)
    resize = dataset.pipeline[1].transforms[0] if name in REFCOCO_SPLITS else dataset.pipeline[1]
    assert dict(resize) == dict(type='Resize', scale=(448, 448), interpolation='bicubic',
                                backend='pillow')
    assert model.get('parse_boxes', False) == (name in REFCOCO_SPLITS)
    assert not dataset.data_root.startswith('tests')


SHORT_ANSWER = 'Based on the image, respond to this question with a short answer: {}'
MINIGPTV2_PROMPTS = {
    'okvqa': '[vqa] ' + SHORT_ANSWER,
    'gqa': '[vqa] ' + SHORT_ANSWER,
    'iconqa': '[vqa] ' + SHORT_ANSWER,
    'vsr': '[vqa] Based on the image, is this statement true or false? {}',
    'vizwiz': "[vqa] The question is '{}' Based on the image, answer the question with a single "
              "word or phrase. and reply 'unanswerable' when the provided information is "
              'insufficient',
    'hateful-memes': "This is an image writting '{}'. Is this image hateful? Answer yes or no. "
                     'Answer:',
    **{name: '[refer] give me the location of {}' for name in REFCOCO_SPLITS},
}


@pytest.mark.parametrize('name', V2_NAMES)
def test_minigptv2_official_prompt(name):
    """eval_scripts/eval_vqa.py, eval_ref.py and the dataset classes they use, verbatim."""
    cfg = load(osp.join(EVALUATION_CONFIGS, f'minigptv2_llama2-chat-7b_{name}.py'))
    assert cfg.model.vqa_instruction == MINIGPTV2_PROMPTS[name]
    if name in REFCOCO_SPLITS:
        assert cfg.model.vqa_instruction == REFER_EVALUATION_INSTRUCTION


@pytest.mark.parametrize('name', REFCOCO_SPLITS)
def test_minigptv2_refcoco_split_and_packed_fields(name):
    dataset = load(osp.join(EVALUATION_CONFIGS,
                            f'minigptv2_llama2-chat-7b_{name}.py')).test_dataloader.dataset
    assert dataset.ann_file == f'eval_data/{REFCOCO_SPLITS[name]}.json'
    assert dataset.data_prefix == 'train2014'
    # mmcv's Resize scales `gt_bboxes` too: it must get the image alone.
    resize = dataset.pipeline[1]
    assert resize.type == 'KeyMapper' and resize.mapping == dict(img='img') and resize.auto_remap
    assert [dict(t) for t in resize.transforms] == [dict(type='Resize', scale=(448, 448),
                                                         interpolation='bicubic', backend='pillow')]
    pack = dataset.pipeline[-1]
    # The metric puts the 0-100 grid box on the original image: ori_shape must be packed.
    assert 'ori_shape' in pack.meta_keys and 'gt_bboxes' in pack.algorithm_keys


def test_minigptv2_scoring_options():
    def config(name):
        return load(osp.join(EVALUATION_CONFIGS, f'minigptv2_llama2-chat-7b_{name}.py'))
    assert config('vsr').test_evaluator == dict(type='VSRAcc', exact_match=True)
    assert config('iconqa').test_evaluator == dict(type='IconQAAccuracy')
    assert 'candidates' in config('iconqa').test_dataloader.dataset.pipeline[-1].algorithm_keys
    assert config('hateful-memes').test_evaluator == dict(type='HatefulMemesAccuracy')
    # v1 VSR keeps the lenient reading ('yes' / 'True.' count).
    assert load(osp.join(EVALUATION_CONFIGS, 'minigpt4_vicuna-7b_vsr.py')
                ).test_evaluator == dict(type='VSRAcc')


@pytest.mark.parametrize('prefixes, name',
                         [pytest.param(V1, n, id=f'minigpt4-{n}') for n in NAMES]
                         + [pytest.param(V2, n, id=f'minigptv2-{n}') for n in V2_NAMES])
def test_tiny_variant_differs_only_in_model_and_data_location(prefixes, name):
    full_prefix, tiny_prefix = prefixes
    full = load(osp.join(EVALUATION_CONFIGS, f'{full_prefix}_{name}.py')).to_dict()
    tiny = load(osp.join(EVALUATION_CONFIGS, 'tiny', f'{tiny_prefix}_{name}.py')).to_dict()
    assert tiny['model']['llm']['config']['hidden_size'] == 64
    assert tiny['model']['template'] == full['model']['template']
    for key in ('generation_cfg', 'vqa_instruction', 'caption_instruction', 'parse_boxes'):
        assert tiny['model'].get(key) == full['model'].get(key)
    for cfg in (full, tiny):
        del cfg['model']
        cfg['test_dataloader']['num_workers'] = 0
        cfg['test_dataloader']['dataset']['data_root'] = '<data_root>'
        cfg['test_evaluator'].pop('ann_file', None)
    assert tiny == full
