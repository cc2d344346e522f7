"""MiniGPT-v2 LoRA: both peft namings, merged weights equal the LoRA forward, clear errors."""
import hashlib
import os
import os.path as osp
import re

import pytest
import torch
from conftest import REPO_ROOT, load_script, run_python
from fake_official_files import fake_minigptv2_model, write_official_files
from hand_assignment import LLAMA2_VARIANT, tiny_model_cfg
from transformers import AutoModelForCausalLM, LlamaConfig, LlamaForCausalLM

from mmpretrain_minigpt4.converters import (ConversionError, convert_minigpt4_checkpoint,
                                            convert_minigpt4_projection)
from mmpretrain_minigpt4.converters.minigptv2_lora import lora_updates, merge_lora_into_llm
from mmpretrain_minigpt4.converters.output_files import UnsafeOutputError

HIDDEN, LAYERS, RANK, ALPHA = 64, 2, 4, 16
MERGE_SCRIPT = osp.join(REPO_ROOT, 'tools/model_converters/merge_minigptv2_lora.py')


def save_tiny_llm(directory: str, safe_serialization: bool) -> LlamaForCausalLM:
    torch.manual_seed(0)
    llm = LlamaForCausalLM(LlamaConfig(
        vocab_size=128, hidden_size=HIDDEN, intermediate_size=128, num_hidden_layers=LAYERS,
        num_attention_heads=4, num_key_value_heads=4))
    # Small shards: the merge must find LoRA targets across several files.
    llm.save_pretrained(directory, safe_serialization=safe_serialization, max_shard_size='60KB')
    return llm


@pytest.mark.parametrize('peft_naming', ['peft 0.2.0', 'peft >= 0.3'])
def test_both_peft_namings_give_the_same_updates(peft_naming):
    sd = fake_minigptv2_model(peft_naming)
    updates = lora_updates(sd, 'minigptv2.pth', ALPHA)
    assert sorted(updates) == sorted(f'model.layers.{i}.self_attn.{p}.weight'
                                     for i in range(LAYERS) for p in ('q_proj', 'v_proj'))
    update = updates['model.layers.1.self_attn.v_proj.weight']
    prefix = 'llama_model.base_model.model.model.layers.1.self_attn.v_proj'
    down_key = [k for k in sd if k.startswith(prefix + '.lora_A')][0]
    assert update.down is sd[down_key] and update.scale == ALPHA / RANK


@pytest.mark.parametrize('safe_serialization', [True, False])
def test_merged_llm_computes_the_lora_forward(tmp_path, safe_serialization, capsys):
    base_dir, out_dir = osp.join(tmp_path, 'base'), osp.join(tmp_path, 'merged')
    base = save_tiny_llm(base_dir, safe_serialization)
    assert len([n for n in os.listdir(base_dir) if 'model-0' in n]) > 1  # sharded
    sd = fake_minigptv2_model()
    merged_keys = merge_lora_into_llm(base_dir, lora_updates(sd, 'v2.pth', ALPHA), out_dir)
    assert 'Merging LoRA into the LLM: 100%' in capsys.readouterr().err  # the progress bar
    assert len(merged_keys) == 2 * LAYERS
    merged = AutoModelForCausalLM.from_pretrained(out_dir)

    x = torch.randn(3, HIDDEN)
    prefix = 'llama_model.base_model.model.model.layers.{}.self_attn.{}.lora_{}.weight'
    for i in range(LAYERS):
        for proj in ('q_proj', 'v_proj'):
            base_linear = getattr(base.model.layers[i].self_attn, proj)
            down, up = (sd[prefix.format(i, proj, f)] for f in 'AB')
            lora_forward = base_linear(x) + (x @ down.T) @ up.T * (ALPHA / RANK)
            merged_linear = getattr(merged.model.layers[i].self_attn, proj)
            # fp32 rounding of two summation orders, relative to the output's scale.
            torch.testing.assert_close(merged_linear(x), lora_forward, rtol=1e-5,
                                       atol=1e-5 * float(lora_forward.abs().max()))
    unchanged = {k: v for k, v in base.state_dict().items()
                 if 'q_proj' not in k and 'v_proj' not in k}
    merged_sd = merged.state_dict()
    assert all(torch.equal(merged_sd[k], v) for k, v in unchanged.items())
    assert set(os.listdir(out_dir)) == set(os.listdir(base_dir))


def test_lora_errors_name_the_file_and_key(tmp_path):
    sd = fake_minigptv2_model()
    unpaired = {k: v for k, v in sd.items() if 'layers.1.self_attn.q_proj.lora_B' not in k}
    with pytest.raises(ConversionError, match=r"v2.pth: 'llama_model.base_model.model.model."
                       r"layers.1.self_attn.q_proj.lora_A.weight' has no matching lora_B"):
        lora_updates(unpaired, 'v2.pth')
    with pytest.raises(ConversionError, match=r"v2.pth: 'llama_model.lora_A.weight' is not a "
                       'LoRA weight of the LLM in a known naming'):
        lora_updates({'llama_model.lora_A.weight': torch.zeros(2, 2)}, 'v2.pth')

    base_dir = osp.join(tmp_path, 'base')
    save_tiny_llm(base_dir, True)
    wider = dict(sd, **{'llama_model.base_model.model.model.layers.0.self_attn.q_proj.lora_A'
                        '.weight': torch.zeros(RANK, 2 * HIDDEN)})
    with pytest.raises(ConversionError, match=r"gives shape \(64, 128\), but "
                       r"'model.layers.0.self_attn.q_proj.weight' in .* is \(64, 64\)"):
        merge_lora_into_llm(base_dir, lora_updates(wider, 'v2.pth'), osp.join(tmp_path, 'a'))
    deeper = dict(sd, **{f'llama_model.base_model.model.model.layers.5.self_attn.q_proj.lora_{f}'
                         '.weight': sd['llama_model.base_model.model.model.layers.0.self_attn.'
                                       f'q_proj.lora_{f}.weight'] for f in 'AB'})
    with pytest.raises(ConversionError, match=r"has no 'model.layers.5.self_attn.q_proj.weight' "
                       r'for LoRA .* \(1 LoRA targets missing\)'):
        merge_lora_into_llm(base_dir, lora_updates(deeper, 'v2.pth'), osp.join(tmp_path, 'b'))


def test_lora_missing_for_some_layers_is_an_error(tmp_path):
    base_dir = osp.join(tmp_path, 'base')
    save_tiny_llm(base_dir, True)
    partial = {k: v for k, v in fake_minigptv2_model().items()
               if 'layers.1.self_attn.v_proj' not in k}
    with pytest.raises(ConversionError, match=r"The LoRA covers 3 of 4 weights of its kinds in "
                       r".*: none for \['model.layers.1.self_attn.v_proj.weight'\]"):
        merge_lora_into_llm(base_dir, lora_updates(partial, 'v2.pth'), osp.join(tmp_path, 'out'))


def test_checkpoint_converter_needs_the_lora_merged_first():
    sd = fake_minigptv2_model()
    with pytest.raises(ConversionError, match=r'v2.pth holds LoRA weights of the LLM .*'
                       r'merge_minigptv2_lora.py, then convert with --lora-merged'):
        convert_minigpt4_projection(sd, 'v2.pth')
    weights = convert_minigpt4_projection(sd, 'v2.pth', lora='merged')
    assert sorted(weights.tensors) == ['head.proj.bias', 'head.proj.weight']
    lora_dropped = [d for d in weights.dropped if '.lora_' in d.origin.key]
    assert len(lora_dropped) == 4 * LAYERS
    assert all('merged into the LLM directory' in d.reason for d in lora_dropped)


def test_minigptv2_checkpoint_converts_for_the_token_merge_model_at_448(tmp_path):
    v2_file = osp.join(tmp_path, 'minigptv2_checkpoint.pth')
    torch.save(dict(model=fake_minigptv2_model()), v2_file)
    checkpoint, report = convert_minigpt4_checkpoint(
        tiny_model_cfg(**LLAMA2_VARIANT), eva_vit=write_official_files(tmp_path)['eva_vit'],
        minigpt4=v2_file, img_size=448, lora='merged')
    state_dict = checkpoint['state_dict']
    assert state_dict['vision_encoder.pos_embed'].shape == (1, 1025, 32)
    assert state_dict['head.proj.weight'].shape == (64, 128)
    assert report.defaulted == ['ln_vision.weight', 'ln_vision.bias']
    assert sum('.lora_' in d.origin.key for d in report.dropped) == 4 * LAYERS


def write_merge_inputs(tmp_path):
    """The tiny LLM directory and a MiniGPT-v2 checkpoint: the paths of ``--llm`` and
    ``--minigptv2``."""
    base_dir = osp.join(tmp_path, 'base')
    checkpoint = osp.join(tmp_path, 'minigptv2_checkpoint.pth')
    save_tiny_llm(base_dir, True)
    torch.save(dict(model=fake_minigptv2_model('peft >= 0.3'), epoch=1), checkpoint)
    return base_dir, checkpoint


def tree_hashes(*paths) -> dict:
    """sha256 of every file under ``paths`` (files or directories)."""
    files = [p for p in paths if osp.isfile(p)] + [
        osp.join(root, name) for p in paths if osp.isdir(p) for root, _, names in os.walk(p)
        for name in names]
    return {f: hashlib.sha256(open(f, 'rb').read()).hexdigest() for f in files}


def test_merge_cli(tmp_path):
    base_dir, checkpoint = write_merge_inputs(tmp_path)
    out_dir = osp.join(tmp_path, 'merged')
    result = run_python(MERGE_SCRIPT, '--llm', base_dir, '--minigptv2', checkpoint,
                        '--out', out_dir, timeout=300)
    assert ('merged LoRA (rank 4, alpha 16) into 4 weights, e.g. '
            'model.layers.0.self_attn.q_proj.weight') in result.stdout
    assert osp.isfile(osp.join(out_dir, 'config.json'))
    assert sorted(os.listdir(tmp_path)) == ['base', 'merged', 'minigptv2_checkpoint.pth']


def test_merge_cli_refuses_to_write_over_its_inputs(tmp_path):
    base_dir, checkpoint = write_merge_inputs(tmp_path)
    before = tree_hashes(base_dir, checkpoint)
    result = run_python(MERGE_SCRIPT, '--llm', base_dir, '--minigptv2', checkpoint,
                        '--out', base_dir, '--force', expect_success=False, timeout=300)
    assert (f'error: --out {base_dir} is the --llm input: choose another output (an input '
            'is never overwritten, even with --force).') in result.stderr
    tool = load_script('tools/model_converters/merge_minigptv2_lora.py')
    inside = osp.join(base_dir, 'merged')
    for out, message in [(inside, f'--out {inside} lies inside the --llm directory {base_dir}'),
                         (checkpoint, f'--out {checkpoint} is the --minigptv2 input')]:
        with pytest.raises(SystemExit, match=re.escape(f'error: {message}')):
            tool.main(['--llm', base_dir, '--minigptv2', checkpoint, '--out', out, '--force'])
    assert tree_hashes(base_dir, checkpoint) == before


def test_merge_output_is_replaced_whole_and_only_with_force(tmp_path):
    base_dir, checkpoint = write_merge_inputs(tmp_path)
    out_dir = tmp_path / 'merged'
    out_dir.mkdir()
    (out_dir / 'earlier.txt').write_text('an earlier merge')
    updates = lora_updates(fake_minigptv2_model(), 'v2.pth', ALPHA)
    with pytest.raises(UnsafeOutputError, match=re.escape(
            f'--out {out_dir} exists: pass --force to replace it.')):
        merge_lora_into_llm(base_dir, updates, str(out_dir))
    # A merge that fails half way (after writing some shards) leaves no trace.
    partial = {k: v for k, v in updates.items() if 'layers.1.self_attn.v_proj' not in k}
    with pytest.raises(ConversionError, match='The LoRA covers 3 of 4 weights'):
        merge_lora_into_llm(base_dir, partial, str(out_dir), force=True)
    with pytest.raises(ConversionError, match='The LoRA covers 3 of 4 weights'):
        merge_lora_into_llm(base_dir, partial, str(tmp_path / 'new'))
    assert os.listdir(out_dir) == ['earlier.txt']
    assert sorted(os.listdir(tmp_path)) == ['base', 'merged', 'minigptv2_checkpoint.pth']

    merge_lora_into_llm(base_dir, updates, str(out_dir), force=True)
    assert set(os.listdir(out_dir)) == set(os.listdir(base_dir))
    assert sorted(os.listdir(tmp_path)) == ['base', 'merged', 'minigptv2_checkpoint.pth']
