"""docs/converting_weights.md's path: converted file -> env variable -> model by name."""
import os.path as osp

import numpy as np
import torch
from conftest import TINY_MODEL_CONFIG, build_tiny_model, real_photo
from fake_official_files import (fake_blip2_model, fake_eva_vit_g, fake_minigpt4_checkpoint,
                                 write_official_files)
from hand_assignment import assign_by_hand, photo_batch
from mmengine.config import Config
from mmpretrain import inference_model

from mmpretrain_minigpt4.apis import MiniGPT4CaptionInferencer
from mmpretrain_minigpt4.converters import convert_minigpt4_checkpoint

CAPTION = 'minigpt-4_tiny_caption'


def test_model_by_name_loads_the_converted_checkpoint_from_its_variable(tmp_path, monkeypatch):
    checkpoint, _ = convert_minigpt4_checkpoint(Config.fromfile(TINY_MODEL_CONFIG).model,
                                                **write_official_files(tmp_path))
    path = osp.join(tmp_path, 'minigpt-4_tiny.pth')
    torch.save(checkpoint, path)
    monkeypatch.setenv('MINIGPT4_TINY_CKPT', path)

    inferencer = MiniGPT4CaptionInferencer(CAPTION, generation_cfg=dict(max_new_tokens=4))
    by_hand = build_tiny_model(seed=3)
    assign_by_hand(by_hand, fake_eva_vit_g(), fake_blip2_model(),
                   fake_minigpt4_checkpoint()['model'])
    images = photo_batch()
    assert torch.equal(inferencer.model.extract_image_tokens(images),
                       by_hand.extract_image_tokens(images))

    photo = np.ascontiguousarray(real_photo('chelsea')[..., ::-1])
    result = inference_model(CAPTION, photo, generation_cfg=dict(max_new_tokens=4))
    assert set(result) == {'pred_caption'} and isinstance(result['pred_caption'], str)
