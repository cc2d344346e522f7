import pytest
import torch
from fake_official_files import fake_blip2_model, fake_minigpt4_checkpoint

from mmpretrain_minigpt4.converters import ConversionError, convert_minigpt4_projection


def test_llama_proj_lands_in_head_and_buffers_are_reported_dropped():
    sd = fake_minigpt4_checkpoint()['model']
    weights = convert_minigpt4_projection(sd, 'pretrained_minigpt4_7b.pth')
    assert sorted(weights.tensors) == ['head.proj.bias', 'head.proj.weight']
    assert torch.equal(weights.tensors['head.proj.weight'], sd['llama_proj.weight'])
    assert torch.equal(weights.tensors['head.proj.bias'], sd['llama_proj.bias'])
    dropped = {d.origin.key: d.reason for d in weights.dropped}
    assert dropped == {
        'Qformer.bert.embeddings.position_ids': 'buffer (the Q-Former comes from BLIP-2)',
        'llama_model.model.layers.0.self_attn.rotary_emb.inv_freq':
        'buffer (recomputed by the LLM)',
        'llama_model.model.layers.1.self_attn.rotary_emb.inv_freq':
        'buffer (recomputed by the LLM)',
    }


@pytest.mark.parametrize('lora_key', [
    'llama_model.base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight',
    'llama_model.base_model.model.model.layers.0.self_attn.q_proj.lora_A.default.weight'])
def test_minigpt_v2_lora_checkpoints_are_refused_not_silently_degraded(lora_key):
    sd = dict(fake_minigpt4_checkpoint()['model'], **{lora_key: torch.zeros(4, 64)})
    with pytest.raises(ConversionError, match=r"minigptv2.pth holds LoRA weights of the LLM "
                       rf"\(e.g. '{lora_key}'\)"):
        convert_minigpt4_projection(sd, 'minigptv2.pth')


def test_another_file_is_refused_naming_it():
    with pytest.raises(ConversionError, match=r"blip2.pth is not a MiniGPT-4 checkpoint like "
                       r"pretrained_minigpt4_7b.pth: it has no 'llama_proj.weight'"):
        convert_minigpt4_projection(fake_blip2_model(), 'blip2.pth')
