"""One model spread over devices (``device_map``, ``max_memory``, ``offload_folder``) by the
inferencers and mmpretrain's ``get_model``, on CPU: parts placed as asked (the LLM
offloaded to disk), whole layers never split, the same captions as the model in one piece."""
import os

import pytest
import torch
from mmpretrain import get_model

from conftest import TINY_V2_MODEL_CONFIG, build_tiny_model, real_photo

from mmpretrain_minigpt4.apis import MiniGPT4CaptionInferencer

CAPTION = 'minigpt-4_tiny_caption'


@pytest.fixture(autouse=True)
def tiny_random_weights(monkeypatch):
    monkeypatch.delenv('MINIGPT4_TINY_CKPT', raising=False)


def caption(inferencer):
    return inferencer(real_photo('chelsea')[..., ::-1].copy())[0]['pred_caption']


@pytest.fixture(scope='module')
def reference_caption():
    torch.manual_seed(0)
    return caption(MiniGPT4CaptionInferencer(CAPTION, pretrained=False,
                                             generation_cfg=dict(max_new_tokens=6)))


def test_no_split_modules_are_the_layers_of_each_part():
    assert build_tiny_model(0)._no_split_modules == [
        'Blip2QFormerLayer', 'EvaBlock', 'LlamaDecoderLayer']
    assert build_tiny_model(0, TINY_V2_MODEL_CONFIG)._no_split_modules == [
        'EvaBlock', 'LlamaDecoderLayer']


def test_the_llm_offloaded_to_disk_gives_the_same_caption(tmp_path, reference_caption):
    device_map = dict(vision_encoder='cpu', ln_vision='cpu', neck='cpu', head='cpu', llm='disk')
    torch.manual_seed(0)
    inferencer = MiniGPT4CaptionInferencer(
        CAPTION, pretrained=False, device_map=device_map, offload_folder=str(tmp_path),
        generation_cfg=dict(max_new_tokens=6))
    model = inferencer.model
    assert model.llm.lm_head.weight.device.type == 'meta'  # loaded at each forward
    assert model.head.proj.weight.device.type == 'cpu'
    assert any(name.startswith('llm.') for name in os.listdir(tmp_path))
    assert caption(inferencer) == reference_caption


def parameter_bytes(module, prefix=''):
    return sum(p.numel() * p.element_size() for name, p in module.named_parameters()
               if name.startswith(prefix))


def test_a_memory_budget_places_whole_layers(tmp_path, reference_caption):
    plain = build_tiny_model(0)
    llm = plain.llm
    # Room on the CPU for the image side, the embeddings, one decoder layer and the
    # largest layer that accelerate keeps free for loading offloaded ones (lm_head): the
    # other decoder layer and lm_head go to disk.
    budget = (parameter_bytes(plain) - parameter_bytes(llm) + parameter_bytes(llm.model.embed_tokens)
              + 1.5 * parameter_bytes(llm.model.layers[0]) + parameter_bytes(llm.lm_head))
    torch.manual_seed(0)
    inferencer = MiniGPT4CaptionInferencer(
        CAPTION, pretrained=False, device_map='sequential',
        max_memory=dict(cpu=int(budget), disk=10**10), offload_folder=str(tmp_path),
        generation_cfg=dict(max_new_tokens=6))
    device_map = inferencer.model.hf_device_map
    assert device_map['llm.model.layers.0'] == 'cpu' and device_map['llm.model.layers.1'] == 'disk'
    assert device_map['vision_encoder'] == 'cpu' and device_map['llm.lm_head'] == 'disk'
    for name in device_map:
        # Never inside a decoder layer, a ViT block or a Q-Former layer.
        parts = name.split('.')
        for layers in (('llm', 'model', 'layers'), ('vision_encoder', 'blocks'),
                       ('neck', 'qformer', 'encoder', 'layer')):
            if tuple(parts[:len(layers)]) == layers:
                assert len(parts) == len(layers) + 1, name
    assert caption(inferencer) == reference_caption


def test_mmpretrain_get_model_spreads_it_too(tmp_path):
    model = get_model(CAPTION, device_map=dict(
        vision_encoder='cpu', ln_vision='cpu', neck='cpu', head='cpu', llm='disk'),
        offload_folder=str(tmp_path))
    assert model.llm.lm_head.weight.device.type == 'meta'


@pytest.mark.parametrize('kwargs, message', [
    (dict(device='cpu', device_map='auto'), 'Pass `device` or `device_map`, not both'),
    (dict(max_memory=dict(cpu=10**9)), 'need a `device_map`'),
])
def test_contradicting_placement_is_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        MiniGPT4CaptionInferencer(CAPTION, pretrained=False, **kwargs)
