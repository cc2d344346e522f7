"""The real files' full-size key layout fits the full-size configs (meta tensors: no memory)."""
import os.path as osp

import pytest
import torch
from conftest import REPO_ROOT
from fake_official_files import (FULL_SIZE, fake_blip2_model, fake_eva_vit_g,
                                 fake_minigpt4_checkpoint)
from mmengine.config import Config

from mmpretrain_minigpt4.converters import convert_minigpt4_checkpoint

MODEL_CONFIGS = osp.join(REPO_ROOT, 'configs/minigpt4/_base_/models')


@pytest.mark.parametrize('config, projection_in, llm_hidden, img_size', [
    ('minigpt4_vicuna-7b.py', 768, 4096, None),
    ('minigpt4_vicuna-13b.py', 768, 5120, None),
    ('minigpt4_vicuna-7b.py', 768, 4096, 448),
    ('minigpt4_llama2-chat-7b.py', 4 * 1408, 4096, None),
])
def test_official_files_fit_full_size_configs(tmp_path, config, projection_in, llm_hidden,
                                              img_size):
    files = dict(eva_vit=osp.join(tmp_path, 'eva_vit_g.pth'),
                 minigpt4=osp.join(tmp_path, 'pretrained_minigpt4.pth'))
    torch.save(fake_eva_vit_g(widths=FULL_SIZE), files['eva_vit'])
    torch.save(fake_minigpt4_checkpoint(in_dims=projection_in,
                                        widths=FULL_SIZE._replace(llm=llm_hidden)),
               files['minigpt4'])
    has_qformer = 'llama2' not in config
    if has_qformer:
        files['blip2'] = osp.join(tmp_path, 'blip2_pretrained_flant5xxl.pth')
        torch.save(dict(model=fake_blip2_model(widths=FULL_SIZE)), files['blip2'])
    model_cfg = Config.fromfile(osp.join(MODEL_CONFIGS, config)).model

    checkpoint, report = convert_minigpt4_checkpoint(model_cfg, img_size=img_size, **files)

    state_dict = checkpoint['state_dict']
    # Reference §3.1: 511 ViT keys (4 + 39 x 13); Q-Former 254 + query_tokens; ln_vision 2.
    expected_mapped = {files['eva_vit']: 511, files['minigpt4']: 2}
    if has_qformer:
        expected_mapped[files['blip2']] = 255 + 2
    assert report.mapped == expected_mapped
    assert len(state_dict) == 511 + 2 + (255 if has_qformer else 0) + 2
    assert report.defaulted == ([] if has_qformer else ['ln_vision.weight', 'ln_vision.bias'])
    dropped_vit = [d.origin.key for d in report.dropped if d.origin.source == files['eva_vit']]
    assert len(dropped_vit) == 13 and all(k.startswith('blocks.39.') for k in dropped_vit)
    assert state_dict['head.proj.weight'].shape == (llm_hidden, projection_in)
    num_patches = ((img_size or 224) // 14)**2
    assert state_dict['vision_encoder.pos_embed'].shape == (1, num_patches + 1, 1408)
