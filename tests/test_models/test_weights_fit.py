"""Loaded weights are checked: a checkpoint that does not fit is an error naming the file and keys.

Every path loads through MMEngine's ``load_checkpoint`` (``get_model``, the
inferencers, ``Chat``, ``tools/test.py``, ``load_from``) or the Runner, and all
reach ``MiniGPT4``'s load pre-hook.
"""
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.runner import load_checkpoint
from mmpretrain.apis import get_model
from mmpretrain.registry import MODELS

from conftest import (REPO_ROOT, TINY_MODEL_CONFIG, TINY_V2_MODEL_CONFIG, build_tiny_model,
                      load_script)

from mmpretrain_minigpt4.apis import Chat
from mmpretrain_minigpt4.models.weights_fit import WeightsMismatchError

TINY_CAPTION = osp.join(REPO_ROOT, 'configs/minigpt4/minigpt-4_tiny_caption.py')
TINY_GQA = osp.join(REPO_ROOT, 'configs/minigpt4/evaluation/tiny/minigpt4_tiny_gqa.py')
STAGE2_TINY = osp.join(REPO_ROOT, 'configs/minigpt4/stage2_tiny.py')


def head(in_channels=32, out_channels=64, fill=0.01):
    return {'head.proj.weight': torch.full((out_channels, in_channels), fill),
            'head.proj.bias': torch.zeros(out_channels)}


def save(tmp_path, name, checkpoint):
    path = str(tmp_path / name)
    torch.save(checkpoint, path)
    return path


BAD_CHECKPOINTS = {
    # name -> (checkpoint, the message's key part)
    'another_variant.pth': (dict(state_dict=head(in_channels=4 * 32)),
                            r"'head.proj.weight' is \(64, 128\) in the file, \(64, 32\) in the "
                            'model'),
    'official.pth': (dict(model={'llama_proj.weight': torch.zeros(64, 32)}, epoch=3),
                     "keys this MiniGPT4 does not have: 'model', 'epoch'.*official MiniGPT-4 "
                     'file: convert it first with tools/model_converters/'),
    'no_bias.pth': (dict(state_dict={'head.proj.weight': torch.zeros(64, 32)}),
                    r"lacks 'head.proj.bias' \(1 keys missing\)"),
    'nan.pth': (dict(state_dict=head(fill=float('nan'))),
                "NaN or infinite values in 'head.proj.weight'"),
    'frozen_only.pth': (dict(state_dict={'ln_vision.weight': torch.ones(32),
                                         'ln_vision.bias': torch.zeros(32)}),
                        "lacks 'head.proj.bias', 'head.proj.weight'"),
    'empty.pth': (dict(state_dict={}), 'holds no weights'),
    'not_a_tensor.pth': (dict(state_dict={'head.proj.weight': 3,
                                          'head.proj.bias': torch.zeros(64)}),
                         r"'head.proj.weight' is a int, not a tensor in the file, \(64, 32\) in"),
}


@pytest.mark.parametrize('name', sorted(BAD_CHECKPOINTS))
def test_a_checkpoint_that_does_not_fit_is_refused_naming_file_and_keys(tmp_path, name):
    checkpoint, message = BAD_CHECKPOINTS[name]
    path = save(tmp_path, name, checkpoint)
    model = build_tiny_model()
    before = model.head.proj.weight.clone()
    with pytest.raises(WeightsMismatchError, match=f'{path}.*{message}'):
        load_checkpoint(model, path, map_location='cpu')
    assert torch.equal(model.head.proj.weight, before)  # nothing was copied


def test_get_model_chat_test_tool_and_load_from_refuse_it(tmp_path):
    path = save(tmp_path, 'another_variant.pth', BAD_CHECKPOINTS['another_variant.pth'][0])
    with pytest.raises(WeightsMismatchError, match=path):
        get_model(TINY_CAPTION, pretrained=path)
    with pytest.raises(WeightsMismatchError, match=path):
        Chat('minigpt-4_tiny_caption', pretrained=path)
    with pytest.raises(WeightsMismatchError, match=path):
        load_script('tools/test.py').main([TINY_GQA, path, '--work-dir', str(tmp_path / 'a')])
    with pytest.raises(WeightsMismatchError, match=path):
        load_script('tools/train.py').main([STAGE2_TINY, '--work-dir', str(tmp_path / 'b'),
                                            '--cfg-options', f'load_from={path}'])


def test_fitting_checkpoints_load(tmp_path):
    model = build_tiny_model()
    trained = save(tmp_path, 'trained.pth', dict(state_dict=head(fill=0.5), meta=dict(iter=3)))
    load_checkpoint(model, trained, map_location='cpu')
    assert (model.head.proj.weight == 0.5).all()
    full = build_tiny_model(seed=2, save_frozen_weights=True).state_dict()
    whole = save(tmp_path, 'whole.pth', dict(state_dict=full))
    load_checkpoint(model, whole, map_location='cpu')
    assert torch.equal(model.neck.query_tokens, full['neck.query_tokens'])


def frozen_weights(seed=3, drop=()):
    """The tiny model's frozen ViT, ln_vision and Q-Former, as the converter writes them."""
    state = build_tiny_model(seed=seed, save_frozen_weights=True).state_dict()
    return {k: v for k, v in state.items()
            if not k.startswith(('llm.', 'head.')) and not k.startswith(drop)}


def model_with_frozen_weights(path):
    cfg = Config.fromfile(TINY_MODEL_CONFIG)
    cfg.model.init_cfg = dict(type='Pretrained', checkpoint=path)
    model = MODELS.build(cfg.model)
    model.init_weights()
    return model


def test_frozen_weights_of_init_cfg_need_no_projection_but_every_frozen_part(tmp_path):
    weights = frozen_weights()
    model = model_with_frozen_weights(save(tmp_path, 'frozen.pth', dict(state_dict=weights)))
    torch.testing.assert_close(model.neck.query_tokens, weights['neck.query_tokens'])
    without_neck = save(tmp_path, 'no_neck.pth', dict(state_dict=frozen_weights(drop='neck.')))
    with pytest.raises(WeightsMismatchError, match=r"no_neck.pth lacks 'neck\."):
        model_with_frozen_weights(without_neck)
    # Outside init_cfg, the same frozen-only file lacks the trained projection.
    with pytest.raises(WeightsMismatchError, match=r"frozen.pth lacks 'head.proj.bias'"):
        load_checkpoint(build_tiny_model(), str(tmp_path / 'frozen.pth'), map_location='cpu')


def test_a_part_of_a_frozen_module_is_refused(tmp_path):
    weights = frozen_weights()
    del weights['vision_encoder.blocks.1.mlp.fc2.weight']
    path = save(tmp_path, 'truncated.pth', dict(state_dict={**weights, **head()}))
    with pytest.raises(WeightsMismatchError, match="lacks 'vision_encoder.blocks.1.mlp.fc2.weight'"):
        load_checkpoint(build_tiny_model(), path, map_location='cpu')


def test_a_state_dict_without_a_file_is_named_as_such():
    with pytest.raises(WeightsMismatchError, match="The state dict has keys .*'bogus'"):
        build_tiny_model().load_state_dict({'bogus': torch.zeros(1)}, strict=False)


def test_a_projection_and_lora_checkpoint_fits_without_the_frozen_llm(tmp_path):
    """MiniGPT-v2: the LoRA factors live inside the frozen LLM but are trainable;
    they are required, and they do not make the frozen LLM required."""
    trained = build_tiny_model(seed=5, config=TINY_V2_MODEL_CONFIG).state_dict()
    assert sum('.lora_' in key for key in trained) == 8
    model = build_tiny_model(config=TINY_V2_MODEL_CONFIG)
    load_checkpoint(model, save(tmp_path, 'v2.pth', dict(state_dict=trained)), map_location='cpu')
    torch.testing.assert_close(model.llm.model.layers[1].self_attn.v_proj.lora_A.default.weight,
                               trained['llm.model.layers.1.self_attn.v_proj.lora_A.default.weight'])
    no_lora = {k: v for k, v in trained.items() if '.lora_' not in k}
    first_lora = 'llm.model.layers.0.self_attn.q_proj.lora_A.default.weight'
    with pytest.raises(WeightsMismatchError, match=rf"no_lora.pth lacks '{first_lora}'.*\(8 keys"):
        load_checkpoint(model, save(tmp_path, 'no_lora.pth', dict(state_dict=no_lora)),
                        map_location='cpu')
    # A frozen base weight makes the LLM held: then all of it must be.
    base = 'llm.model.layers.0.self_attn.q_proj.base_layer.weight'
    partly = {**trained, base: torch.zeros(64, 64)}
    with pytest.raises(WeightsMismatchError, match=r"partly.pth lacks 'llm\.lm_head\.weight'"):
        load_checkpoint(model, save(tmp_path, 'partly.pth', dict(state_dict=partly)),
                        map_location='cpu')
    whole = build_tiny_model(seed=6, config=TINY_V2_MODEL_CONFIG, save_frozen_weights=True)
    load_checkpoint(model, save(tmp_path, 'whole.pth', dict(state_dict=whole.state_dict())),
                    map_location='cpu')
    assert torch.equal(model.llm.model.layers[0].self_attn.q_proj.base_layer.weight,
                       whole.llm.model.layers[0].self_attn.q_proj.base_layer.weight)


def test_lora_checks_shapes_and_values_like_any_weight(tmp_path):
    trained = build_tiny_model(config=TINY_V2_MODEL_CONFIG).state_dict()
    key = 'llm.model.layers.0.self_attn.v_proj.lora_B.default.weight'
    model = build_tiny_model(config=TINY_V2_MODEL_CONFIG)
    for name, value, message in [
            ('rank8.pth', torch.zeros(64, 8), rf"'{key}' is \(64, 8\) in the file, \(64, 4\)"),
            ('nan.pth', torch.full((64, 4), float('nan')), f"NaN or infinite values in '{key}'")]:
        path = save(tmp_path, name, dict(state_dict={**trained, key: value}))
        with pytest.raises(WeightsMismatchError, match=f'{name} .*{message}'):
            load_checkpoint(model, path, map_location='cpu')
