"""LoRA on the LLM (MiniGPT-v2), injected with peft into the plain transformers model.

The model stays a ``transformers`` ``PreTrainedModel`` (``get_decoder()``,
``generate()`` ... unchanged); each targeted ``nn.Linear`` becomes a peft
``lora.Linear``, so its keys are (per layer ``i``, for ``q_proj`` and ``v_proj``)::

    model.layers.{i}.self_attn.q_proj.base_layer.weight      (out, in)  frozen base weight
    model.layers.{i}.self_attn.q_proj.lora_A.default.weight  (r, in)    trainable
    model.layers.{i}.self_attn.q_proj.lora_B.default.weight  (out, r)   trainable

(``llm.`` in front inside ``MiniGPT4``). The adapter is injected after the base
weights are loaded, so a plain Llama directory loads as usual. The forward adds
``alpha / r * B(A(dropout(x)))`` to the base output; A is Kaiming-uniform and B
zero at first (the LLM's output is unchanged until B trains), as in peft 0.2.0.
"""
from typing import Iterator, Sequence

import torch

from peft import LoraConfig, inject_adapter_in_model
from peft.tuners.lora import LoraLayer
from torch import nn

LORA_SETTINGS = ('r', 'alpha', 'dropout', 'target_modules')


def add_lora(llm: nn.Module, r: int, alpha: float, dropout: float = 0.05,
             target_modules: Sequence[str] = ('q_proj', 'v_proj')) -> nn.Module:
    """Inject LoRA into ``llm`` in place (bias none); only the LoRA factors train.

    Args:
        llm (nn.Module): A transformers causal LM with its weights loaded.
        r (int): Rank (MiniGPT-v2: 64).
        alpha (float): Scaling numerator: the update is ``alpha / r * B @ A``
            (MiniGPT-v2: 16, scaling 0.25).
        dropout (float): Dropout on the input of A, in training only.
            Defaults to 0.05.
        target_modules (Sequence[str]): Names of the linear layers adapted.
            Defaults to ('q_proj', 'v_proj').

    Returns:
        nn.Module: ``llm`` itself.

    Raises:
        ValueError: For settings out of range or target modules ``llm`` lacks,
            naming ``model.llm.lora``.
    """
    if isinstance(r, bool) or not isinstance(r, int) or r <= 0:
        raise ValueError(f'model.llm.lora.r must be a positive integer, got {r!r}.')
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or alpha <= 0:
        raise ValueError(f'model.llm.lora.alpha must be a positive number, got {alpha!r}.')
    if not isinstance(dropout, (int, float)) or not 0 <= dropout < 1:
        raise ValueError(f'model.llm.lora.dropout must be in [0, 1), got {dropout!r}.')
    if isinstance(target_modules, str) or not target_modules:
        raise ValueError('model.llm.lora.target_modules must be a non-empty list of layer '
                         f"names (e.g. ['q_proj', 'v_proj']), got {target_modules!r}.")
    layer_names = {name.rsplit('.', 1)[-1] for name, module in llm.named_modules()
                   if isinstance(module, nn.Linear)}
    unknown = sorted(set(target_modules) - layer_names)
    if unknown:
        raise ValueError(f'model.llm.lora.target_modules: the LLM has no linear layer named '
                         f'{unknown}; it has {sorted(layer_names)}.')
    config = LoraConfig(r=r, lora_alpha=alpha, lora_dropout=dropout,
                        target_modules=list(target_modules), bias='none')
    inject_adapter_in_model(config, llm)
    # Float32 factors whatever the base (fp16, or a 4-bit base whose compute dtype peft
    # would give them): as peft 0.2.0 built them, and what QLoRA trains.
    for name, param in llm.named_parameters():
        if '.lora_' in name:
            param.data = param.data.float()
    return llm


def lora_parameters(llm: nn.Module) -> Iterator[nn.Parameter]:
    """The LoRA factors of ``llm`` (none without LoRA)."""
    for module in llm.modules():
        if isinstance(module, LoraLayer):
            for name in module.adapter_layer_names:
                yield from getattr(module, name).parameters()


def lora_dropouts(llm: nn.Module) -> Iterator[nn.Module]:
    """The LoRA dropout modules of ``llm``."""
    for module in llm.modules():
        if isinstance(module, LoraLayer):
            yield module.lora_dropout


def merge_lora(llm: nn.Module) -> int:
    """Fold every LoRA update into its base weight and put the plain ``nn.Linear``
    back: ``llm`` is then an ordinary transformers model with its original keys.

    ``W' = W + alpha / r * B @ A`` is summed in fp32 and rounded once to the
    weight's dtype, as :func:`~mmpretrain_minigpt4.converters.merge_lora_into_llm`
    does, so both merges give the same weights (peft's own merge rounds the
    update to fp16 first).

    Returns:
        int: The number of layers merged (0 without LoRA).

    Raises:
        ValueError: If a merged weight would hold NaN or Inf, naming the layer.
    """
    lora_layers = [(name, module) for name, module in llm.named_modules()
                   if isinstance(module, LoraLayer)]
    for name, layer in lora_layers:
        base = layer.get_base_layer()
        merged = base.weight.detach().float()
        for adapter in layer.lora_A:
            merged = merged + layer.get_delta_weight(adapter).float()
        if not torch.isfinite(merged).all():
            raise ValueError(f'The LoRA of {name} is broken (NaN or Inf): cannot merge it.')
        base.weight.data = merged.to(base.weight.dtype)
        parent, _, child = name.rpartition('.')
        setattr(llm.get_submodule(parent), child, base)
    if lora_layers and hasattr(llm, 'peft_config'):
        del llm.peft_config  # set by inject_adapter_in_model; no adapter is left
    return len(lora_layers)
