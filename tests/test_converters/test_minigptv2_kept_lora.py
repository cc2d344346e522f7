"""MiniGPT-v2 checkpoints converted with their LoRA kept as LoRA (both peft spellings): every
tensor lands, the LoRA changes the output, the count is checked against ``model.llm.lora``."""
import copy
import os.path as osp
import re

import pytest
import torch
from conftest import REPO_ROOT, TINY_V2_MODEL_CONFIG, build_tiny_model, run_python
from fake_official_files import (FULL_SIZE, fake_eva_vit_g, fake_minigpt4_checkpoint,
                                 fake_minigptv2_model, write_official_files)
from hand_assignment import LLAMA2_VARIANT, tiny_model_cfg
from mmengine.config import Config
from mmengine.runner import load_checkpoint
from mmpretrain.structures import DataSample
from transformers import LlamaConfig

from mmpretrain_minigpt4.converters import ConversionError, convert_minigpt4_checkpoint

PEFT_NAMINGS = ['peft 0.2.0', 'peft >= 0.3']
NUM_LORA = 2 * 2 * 2  # the tiny v2 LLM: 2 layers x {q_proj, v_proj} x {A, B}
V2_7B_CONFIG = osp.join(REPO_ROOT, 'configs/minigpt4/_base_/models/minigptv2_llama2-chat-7b.py')
SCRIPT = osp.join(REPO_ROOT, 'tools/model_converters/convert_minigpt4_weights.py')


def v2_model_cfg() -> dict:
    return Config.fromfile(TINY_V2_MODEL_CONFIG).model.to_dict()


def plugin_key(official_key: str) -> str:
    """The official LoRA key (either spelling) the plugin's key should come from."""
    module, factor = re.match(r'llama_model\.base_model\.model\.(.+)\.lora_([AB])',
                              official_key).groups()
    return f'llm.{module}.lora_{factor}.default.weight'


def write_v2_files(tmp_path, model: dict) -> dict:
    files = dict(eva_vit=write_official_files(tmp_path)['eva_vit'],
                 minigpt4=osp.join(tmp_path, 'minigptv2_checkpoint.pth'))
    torch.save(dict(model=model, epoch=1), files['minigpt4'])
    return files


def image_conditioned_logits(model) -> torch.Tensor:
    """The LLM's logits for a 448-px image and a v2 prompt (1, T, vocab)."""
    torch.manual_seed(0)
    image_tokens = model(torch.randn(1, 3, 448, 448), mode='tensor')
    embeds, mask, _ = model.build_training_inputs(
        image_tokens, [DataSample(instruction='[vqa] What is in the image?', answer='A cat.')])
    with torch.no_grad():
        return model.llm(inputs_embeds=embeds, attention_mask=mask).logits


@pytest.mark.parametrize('peft_naming', PEFT_NAMINGS)
def test_every_tensor_lands_and_the_lora_changes_the_output(tmp_path, peft_naming):
    official = fake_minigptv2_model(peft_naming)
    files = write_v2_files(tmp_path, official)
    checkpoint, report = convert_minigpt4_checkpoint(v2_model_cfg(), lora='keep', **files)

    state_dict = checkpoint['state_dict']
    assert report.mapped[files['minigpt4']] == 2 + NUM_LORA
    assert f'LoRA kept: all {NUM_LORA} factors of model.llm.lora' in report.format()
    for key, tensor in official.items():
        if '.lora_' in key:
            assert torch.equal(state_dict[plugin_key(key)], tensor), key
    assert torch.equal(state_dict['head.proj.weight'], official['llama_proj.weight'])
    assert torch.equal(state_dict['head.proj.bias'], official['llama_proj.bias'])
    # Of the LLM only the LoRA: the base LLM stays a directory.
    assert sorted(k for k in state_dict if k.startswith('llm.')) == sorted(
        plugin_key(k) for k in official if '.lora_' in k)

    out = osp.join(tmp_path, 'minigptv2.pth')
    torch.save(checkpoint, out)
    model = build_tiny_model(0, TINY_V2_MODEL_CONFIG)
    load_checkpoint(model, out, strict=True)
    loaded = dict(model.named_parameters())
    for key, tensor in state_dict.items():
        assert torch.equal(loaded[key], tensor.to(loaded[key].dtype)), key

    without_lora = copy.deepcopy(model)
    for name, param in without_lora.named_parameters():
        if '.lora_B.' in name:
            param.data.zero_()
    logits = image_conditioned_logits(model)
    assert not torch.allclose(logits, image_conditioned_logits(without_lora), atol=1e-3)
    assert model.merge_lora() == 4
    torch.testing.assert_close(image_conditioned_logits(model), logits, rtol=1e-5,
                               atol=1e-5 * float(logits.abs().max()))


def test_both_peft_spellings_convert_to_the_same_checkpoint(tmp_path):
    converted = []
    for naming in PEFT_NAMINGS:
        directory = tmp_path / naming.replace(' ', '')
        directory.mkdir()
        files = write_v2_files(directory, fake_minigptv2_model(naming))
        converted.append(convert_minigpt4_checkpoint(v2_model_cfg(), lora='keep',
                                                     **files)[0]['state_dict'])
    assert sorted(converted[0]) == sorted(converted[1])
    assert all(torch.equal(converted[0][k], converted[1][k]) for k in converted[0])


@pytest.mark.parametrize('change, message', [
    ('missing', r"'llm.model.layers.1.self_attn.v_proj.lora_B.default.weight' is missing: "
     r".*minigptv2_checkpoint.pth has no "
     r"'llama_model.base_model.model.model.layers.1.self_attn.v_proj.lora_B.weight'"),
    ('extra', r"'llama_model.base_model.model.model.layers.2.self_attn.q_proj.lora_A.weight' of "
     r".*minigptv2_checkpoint.pth maps to "
     r"'llm.model.layers.2.self_attn.q_proj.lora_A.default.weight', which the model does not "
     'have'),
    ('rank 8', r"'llama_model.base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight' of "
     r".*minigptv2_checkpoint.pth has shape \(8, 64\), but the model's "
     r"'llm.model.layers.0.self_attn.q_proj.lora_A.default.weight' is \(4, 64\)"),
])
def test_lora_that_does_not_fit_the_config_is_an_error(tmp_path, change, message):
    official = {
        'missing': lambda: {k: v for k, v in fake_minigptv2_model().items()
                            if 'layers.1.self_attn.v_proj.lora_B' not in k},
        'extra': lambda: fake_minigptv2_model(layers=3),
        'rank 8': lambda: fake_minigptv2_model(rank=8),
    }[change]()
    with pytest.raises(ConversionError, match=message):
        convert_minigpt4_checkpoint(v2_model_cfg(), lora='keep',
                                    **write_v2_files(tmp_path, official))


def test_a_file_without_lora_is_an_error_naming_it(tmp_path):
    files = write_v2_files(tmp_path, fake_minigpt4_checkpoint(in_dims=4 * 32)['model'])
    with pytest.raises(ConversionError, match=re.escape(
            f"{files['minigpt4']} has no LoRA weights of the LLM")):
        convert_minigpt4_checkpoint(v2_model_cfg(), lora='keep', **files)
    with pytest.raises(ConversionError, match='--keep-lora: pass the MiniGPT-v2 checkpoint'):
        convert_minigpt4_checkpoint(v2_model_cfg(), lora='keep', eva_vit=files['eva_vit'])


def test_a_config_without_lora_cannot_keep_it(tmp_path):
    files = write_v2_files(tmp_path, fake_minigptv2_model())
    no_lora = tiny_model_cfg(**LLAMA2_VARIANT, vision_encoder=dict(img_size=448))
    with pytest.raises(ConversionError, match='--keep-lora: the config has no model.llm.lora'):
        convert_minigpt4_checkpoint(no_lora, lora='keep', **files)
    with pytest.raises(ConversionError, match=re.escape(
            f"{files['minigpt4']} holds LoRA weights of the LLM")):
        convert_minigpt4_checkpoint(no_lora, **files)


def test_the_7b_config_checks_128_lora_tensors(tmp_path):
    """The real files' layout (meta tensors); only the LLM's config.json is read."""
    llm_dir = osp.join(tmp_path, 'Llama-2-7b-chat-hf')
    LlamaConfig().save_pretrained(llm_dir)  # the defaults are Llama-2-7B's
    files = dict(eva_vit=osp.join(tmp_path, 'eva_vit_g.pth'),
                 minigpt4=osp.join(tmp_path, 'minigptv2_checkpoint.pth'))
    torch.save(fake_eva_vit_g(widths=FULL_SIZE), files['eva_vit'])
    torch.save(dict(model=fake_minigptv2_model(widths=FULL_SIZE, layers=32, rank=64)),
               files['minigpt4'])
    model_cfg = Config.fromfile(V2_7B_CONFIG).model
    model_cfg.llm.name_or_path = llm_dir

    checkpoint, report = convert_minigpt4_checkpoint(model_cfg, lora='keep', **files)
    lora = [k for k in checkpoint['state_dict'] if k.startswith('llm.')]
    assert len(lora) == 128 and report.mapped[files['minigpt4']] == 2 + 128
    assert 'LoRA kept: all 128 factors' in report.format()
    assert checkpoint['state_dict']['llm.model.layers.31.self_attn.v_proj.lora_B.default.weight'
                                    ].shape == (4096, 64)

    model_cfg.llm.name_or_path = str(tmp_path)
    with pytest.raises(ConversionError, match=f'{tmp_path}.* has no config.json'):
        convert_minigpt4_checkpoint(model_cfg, lora='keep', **files)


def test_cli_keeps_the_lora(tmp_path):
    files = write_v2_files(tmp_path, fake_minigptv2_model('peft >= 0.3'))
    out = osp.join(tmp_path, 'minigptv2.pth')
    result = run_python(SCRIPT, '--config', TINY_V2_MODEL_CONFIG, '--eva-vit', files['eva_vit'],
                        '--minigpt4', files['minigpt4'], '--keep-lora', '--out', out,
                        timeout=300)
    assert f"mapped {2 + NUM_LORA} tensors from {files['minigpt4']}" in result.stdout
    assert f'LoRA kept: all {NUM_LORA} factors of model.llm.lora' in result.stdout
    saved = torch.load(out, weights_only=True)
    assert saved['meta']['lora'] == 'keep'
    assert sum(k.startswith('llm.') for k in saved['state_dict']) == NUM_LORA
    result = run_python(SCRIPT, '--config', TINY_V2_MODEL_CONFIG, '--eva-vit', files['eva_vit'],
                        '--minigpt4', files['minigpt4'], '--out', out, '--force',
                        expect_success=False, timeout=300)
    assert 'keep them as LoRA with --keep-lora' in result.stderr
