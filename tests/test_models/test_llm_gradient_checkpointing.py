"""LLM gradient checkpointing: same loss and gradients, layers recomputed, no dropout switched on."""
import torch
from conftest import build_tiny_model
from mmpretrain.structures import DataSample

PROMPT = '###Human: <Img><ImageHere></Img> Describe this image in detail. ###Assistant: '


def _samples():
    return [DataSample(prompt=PROMPT, answer='A cat sleeps on a red mat.'),
            DataSample(prompt='', answer='Two dogs.')]


def _step(model, images):
    """One loss + backward: the loss, the projection gradient, how often layer 0's MLP ran."""
    calls = []
    # A pre-hook: the recompute stops early, once the tensors backward needs exist again.
    handle = model.llm.get_decoder().layers[0].mlp.register_forward_pre_hook(
        lambda *args: calls.append(1))
    model.train()
    model.zero_grad()
    loss = model(images, _samples(), mode='loss')['loss']
    loss.backward()
    handle.remove()
    return loss.detach(), model.head.proj.weight.grad.clone(), len(calls)


def test_checkpointing_gives_same_loss_and_grad_and_recomputes():
    torch.manual_seed(0)
    images = torch.randn(2, 3, 224, 224)
    loss, grad, calls = _step(build_tiny_model(seed=5), images)
    ckpt_model = build_tiny_model(seed=5, llm_gradient_checkpointing=True)
    ckpt_loss, ckpt_grad, ckpt_calls = _step(ckpt_model, images)
    torch.testing.assert_close(ckpt_loss, loss)
    torch.testing.assert_close(ckpt_grad, grad)
    assert grad.abs().sum() > 0
    assert (calls, ckpt_calls) == (1, 2)  # the backward pass ran the layer again
    # Only the layers' own flags are on: attention/MLP (and any dropout) stay in eval.
    layer = ckpt_model.llm.get_decoder().layers[0]
    assert layer.training and not layer.self_attn.training and not layer.mlp.training
    ckpt_model.eval()
    assert not layer.training
