import os.path as osp

import pytest
import torch
from conftest import build_tiny_model
from fake_official_files import (fake_blip2_model, fake_eva_vit_g, fake_minigpt4_checkpoint,
                                 fake_mmpretrain_eva_vit, fake_mmpretrain_qformer,
                                 write_official_files)
from hand_assignment import LLAMA2_VARIANT, assign_by_hand, photo_batch, tiny_model_cfg
from mmengine.runner import load_checkpoint

from mmpretrain_minigpt4.converters import ConversionError, convert_minigpt4_checkpoint

def convert_and_save(tmp_path, model_cfg, **files):
    checkpoint, report = convert_minigpt4_checkpoint(model_cfg, **files)
    path = osp.join(tmp_path, 'converted.pth')
    torch.save(checkpoint, path)
    return path, checkpoint, report


def test_converted_checkpoint_gives_the_hand_assigned_model_output(tmp_path):
    official_files = write_official_files(tmp_path)
    path, _, _ = convert_and_save(tmp_path, tiny_model_cfg(), **official_files)
    loaded = build_tiny_model(seed=1)
    load_checkpoint(loaded, path, map_location='cpu', strict=True)

    by_hand = build_tiny_model(seed=2)
    assign_by_hand(by_hand, fake_eva_vit_g(), fake_blip2_model(),
                   fake_minigpt4_checkpoint()['model'])
    images = photo_batch()
    expected = by_hand.extract_image_tokens(images)
    assert expected.shape == (1, 32, 64)
    assert torch.equal(loaded.extract_image_tokens(images), expected)
    assert not torch.allclose(build_tiny_model(seed=2).extract_image_tokens(images), expected)


def test_checkpoint_holds_exactly_the_non_llm_weights_and_reports_the_rest(tmp_path):
    official_files = write_official_files(tmp_path)
    _, checkpoint, report = convert_and_save(tmp_path, tiny_model_cfg(), **official_files)
    model = build_tiny_model(save_frozen_weights=True)
    non_llm = {k: v.shape for k, v in model.state_dict().items() if not k.startswith('llm.')}
    state_dict = checkpoint['state_dict']
    assert {k: v.shape for k, v in state_dict.items()} == non_llm
    assert all(v.dtype == torch.float32 for v in state_dict.values())

    eva, blip2, minigpt4 = (official_files[k] for k in ('eva_vit', 'blip2', 'minigpt4'))
    assert report.mapped == {eva: 30, blip2: 47, minigpt4: 2}
    dropped = {(d.origin.source, d.origin.key) for d in report.dropped}
    assert dropped == ({(eva, k) for k in fake_eva_vit_g() if k.startswith('blocks.2.')} | {
        (blip2, 'Qformer.bert.embeddings.position_ids'), (blip2, 't5_proj.weight'),
        (blip2, 't5_proj.bias'), (minigpt4, 'Qformer.bert.embeddings.position_ids'),
        (minigpt4, 'llama_model.model.layers.0.self_attn.rotary_emb.inv_freq'),
        (minigpt4, 'llama_model.model.layers.1.self_attn.rotary_emb.inv_freq')})
    assert report.not_converted == ['llm.'] and report.defaulted == []
    text = report.format()
    assert f'dropped from {eva}: blocks.2.norm1.weight' in text and '(13 keys)' in text
    assert 'not converted: llm.*' in text

    meta = checkpoint['meta']
    assert meta['sources'] == dict(eva_vit=eva, blip2=blip2, minigpt4=minigpt4)
    assert meta['img_size'] == 224 and meta['dtype'] == 'keep'
    assert len(meta['conversion']['dropped']) == len(dropped)


def test_mmpretrain_converted_files_give_the_same_checkpoint(tmp_path):
    official_files = write_official_files(tmp_path)
    official, _ = convert_minigpt4_checkpoint(tiny_model_cfg(), **official_files)
    files = dict(eva_vit=osp.join(tmp_path, 'minigpt-4_eva-g-p14.pth'),
                 blip2=osp.join(tmp_path, 'minigpt-4_qformer.pth'),
                 minigpt4=osp.join(tmp_path, 'minigpt-4_linear_vicuna7b.pth'))
    torch.save(fake_mmpretrain_eva_vit(), files['eva_vit'])
    torch.save(fake_mmpretrain_qformer(), files['blip2'])
    projection = fake_minigpt4_checkpoint()['model']
    torch.save(dict(state_dict={k: v for k, v in projection.items() if 'llama_proj' in k}),
               files['minigpt4'])
    converted, report = convert_minigpt4_checkpoint(tiny_model_cfg(), **files)
    assert sorted(converted['state_dict']) == sorted(official['state_dict'])
    for key, tensor in official['state_dict'].items():
        assert torch.equal(converted['state_dict'][key], tensor), key
    assert report.mapped == {files['eva_vit']: 30, files['blip2']: 47, files['minigpt4']: 2}


def test_llama2_variant_keeps_default_ln_vision_and_refuses_blip2(tmp_path):
    official_files = write_official_files(tmp_path)
    minigpt4 = osp.join(tmp_path, 'pretrained_minigpt4_llama2_7b.pth')
    torch.save(fake_minigpt4_checkpoint(in_dims=4 * 32), minigpt4)
    cfg = tiny_model_cfg(**LLAMA2_VARIANT)
    path, checkpoint, report = convert_and_save(
        tmp_path, cfg, eva_vit=official_files['eva_vit'], minigpt4=minigpt4)
    state_dict = checkpoint['state_dict']
    assert torch.equal(state_dict['ln_vision.weight'], torch.ones(32))
    assert torch.equal(state_dict['ln_vision.bias'], torch.zeros(32))
    assert report.defaulted == ['ln_vision.weight', 'ln_vision.bias']
    assert not any(key.startswith('neck.') for key in state_dict)

    loaded = build_tiny_model(seed=1, **LLAMA2_VARIANT)
    load_checkpoint(loaded, path, map_location='cpu', strict=True)
    by_hand = build_tiny_model(seed=2, **LLAMA2_VARIANT)
    assign_by_hand(by_hand, fake_eva_vit_g(), None, fake_minigpt4_checkpoint(in_dims=128)['model'])
    images = photo_batch()
    expected = by_hand.extract_image_tokens(images)
    assert expected.shape == (1, 64, 64)
    assert torch.equal(loaded.extract_image_tokens(images), expected)

    with pytest.raises(ConversionError, match=r'no Q-Former .* --blip2 .*blip2_pretrained_'
                       r'flant5xxl.pth has nothing to load; its ln_vision must not be used'):
        convert_minigpt4_checkpoint(cfg, blip2=official_files['blip2'], **{
            'eva_vit': official_files['eva_vit'], 'minigpt4': minigpt4})


def test_other_image_size_interpolates_pos_embed_and_loads(tmp_path):
    official_files = write_official_files(tmp_path)
    path, checkpoint, report = convert_and_save(tmp_path, tiny_model_cfg(), img_size=448,
                                                **official_files)
    assert checkpoint['state_dict']['vision_encoder.pos_embed'].shape == (1, 1025, 32)
    assert checkpoint['meta']['img_size'] == 448
    assert any('resized from 256 to 1024 patches' in note for note in report.notes)
    model = build_tiny_model(vision_encoder=dict(
        type='EVAViT', img_size=448, patch_size=14, embed_dims=32, num_layers=2, num_heads=2,
        mlp_ratio=2.0))
    load_checkpoint(model, path, map_location='cpu', strict=True)
    assert model.extract_image_tokens(photo_batch(448)).shape == (1, 32, 64)


def test_dtype_is_kept_or_cast(tmp_path):
    official_files = write_official_files(tmp_path)
    torch.save(fake_eva_vit_g(dtype=torch.float16), official_files['eva_vit'])
    kept, _ = convert_minigpt4_checkpoint(tiny_model_cfg(), **official_files)
    assert kept['state_dict']['vision_encoder.blocks.0.attn.qkv.weight'].dtype == torch.float16
    assert kept['state_dict']['neck.query_tokens'].dtype == torch.float32
    cast, report = convert_minigpt4_checkpoint(tiny_model_cfg(), dtype='bfloat16',
                                               **official_files)
    assert {v.dtype for v in cast['state_dict'].values()} == {torch.bfloat16}
    assert 'floating-point tensors cast to bfloat16' in report.notes
    with pytest.raises(ValueError, match='--dtype must be one of'):
        convert_minigpt4_checkpoint(tiny_model_cfg(), dtype='int8', **official_files)


def test_without_projection_file_the_head_is_left_out(tmp_path):
    official_files = write_official_files(tmp_path)
    checkpoint, report = convert_minigpt4_checkpoint(
        tiny_model_cfg(), eva_vit=official_files['eva_vit'], blip2=official_files['blip2'])
    assert not any(key.startswith('head.') for key in checkpoint['state_dict'])
    assert report.not_converted == ['llm.', 'head.']


def _rewrite(path, edit):
    checkpoint = torch.load(path, weights_only=True)
    edit(checkpoint['model'] if 'model' in checkpoint else checkpoint)
    torch.save(checkpoint, path)


def test_missing_key_names_the_file_and_its_key(tmp_path):
    official_files = write_official_files(tmp_path)
    _rewrite(official_files['blip2'],
             lambda sd: sd.pop('Qformer.bert.encoder.layer.1.output_query.dense.weight'))
    _rewrite(official_files['eva_vit'], lambda sd: sd.pop('blocks.1.attn.q_bias'))
    with pytest.raises(ConversionError) as error:
        convert_minigpt4_checkpoint(tiny_model_cfg(), **official_files)
    message = str(error.value)
    assert ("'neck.qformer.encoder.layer.1.output_query.dense.weight' is missing: "
            f"{official_files['blip2']} has no "
            "'Qformer.bert.encoder.layer.1.output_query.dense.weight'") in message
    assert ("'vision_encoder.blocks.1.attn.q_bias' is missing: "
            f"{official_files['eva_vit']} has no 'blocks.1.attn.q_bias'") in message


def test_shape_mismatch_names_the_file_key_and_shapes(tmp_path):
    official_files = write_official_files(tmp_path)
    torch.save(fake_minigpt4_checkpoint(in_dims=48), official_files['minigpt4'])
    with pytest.raises(ConversionError,
                       match=rf"'llama_proj.weight' of {official_files['minigpt4']} has shape "
                       r"\(64, 48\), but the model's 'head.proj.weight' is \(64, 32\)"):
        convert_minigpt4_checkpoint(tiny_model_cfg(), **official_files)


def test_key_the_model_does_not_have_is_an_error(tmp_path):
    official_files = write_official_files(tmp_path)
    _rewrite(official_files['blip2'], lambda sd: sd.update({
        'Qformer.bert.encoder.layer.2.output_query.dense.bias': torch.zeros(32)}))
    with pytest.raises(ConversionError,
                       match=r"'Qformer.bert.encoder.layer.2.output_query.dense.bias' of .*blip2_"
                       r"pretrained_flant5xxl.pth maps to 'neck.qformer.encoder.layer.2.output_"
                       r"query.dense.bias', which the model does not have"):
        convert_minigpt4_checkpoint(tiny_model_cfg(), **official_files)


def test_wrong_or_missing_files_are_named(tmp_path):
    official_files = write_official_files(tmp_path)
    swapped = dict(official_files, blip2=official_files['minigpt4'],
                   minigpt4=official_files['blip2'])
    with pytest.raises(ConversionError, match=r'pretrained_minigpt4_7b.pth is not a BLIP-2 '
                       r"Q-Former checkpoint .* it has no 'query_tokens'"):
        convert_minigpt4_checkpoint(tiny_model_cfg(), **swapped)
    with pytest.raises(ConversionError, match=r'blip2_pretrained_flant5xxl.pth is not an EVA ViT '
                       r"checkpoint .* neither 'patch_embed.proj.weight' nor "
                       r"'patch_embed.projection.weight'"):
        convert_minigpt4_checkpoint(tiny_model_cfg(), **dict(official_files,
                                                             eva_vit=official_files['blip2']))
    with pytest.raises(ConversionError, match=r'The config has a Q-Former \(model.neck\): pass '
                       r'its weights \(blip2_pretrained_flant5xxl.pth\) with --blip2'):
        convert_minigpt4_checkpoint(tiny_model_cfg(), eva_vit=official_files['eva_vit'])
    with pytest.raises(FileNotFoundError, match=r"--minigpt4: checkpoint file not found: "
                       r"'nowhere/pretrained_minigpt4_7b.pth'"):
        convert_minigpt4_checkpoint(tiny_model_cfg(), **dict(
            official_files, minigpt4='nowhere/pretrained_minigpt4_7b.pth'))
