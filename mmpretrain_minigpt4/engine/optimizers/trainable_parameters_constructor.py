"""MMEngine's optimiser constructor, with one summary line instead of a warning per frozen tensor."""
from collections import defaultdict
from typing import Dict, List, Tuple

from mmengine.logging import print_log
from mmengine.optim import DefaultOptimWrapperConstructor, OptimWrapper
from mmpretrain.registry import OPTIM_WRAPPER_CONSTRUCTORS
from torch import nn


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class TrainableParametersOptimWrapperConstructor(DefaultOptimWrapperConstructor):
    """``DefaultOptimWrapperConstructor`` for models that are mostly frozen.

    The default constructor, with a ``paramwise_cfg``, logs one warning per
    parameter with ``requires_grad=False``: thousands of lines for a frozen
    7B LLM before the first useful one. This constructor skips wholly frozen
    modules silently and logs one line of what trains and what is frozen
    (tensors and parameters per top-level part). The optimiser gets the same
    parameter groups as with the default constructor.
    """

    def __call__(self, model: nn.Module) -> OptimWrapper:
        print_log(trainable_summary(model), logger='current')
        return super().__call__(model)

    def add_params(self, params: List[dict], module: nn.Module, prefix: str = '',
                   is_dcn_module=None) -> None:
        if not any(p.requires_grad for p in module.parameters()):
            return  # nothing to optimise below: no group, and no warning per tensor
        super().add_params(params, module, prefix, is_dcn_module)


def count_by_part(model: nn.Module) -> Tuple[Dict[str, list], Dict[str, list]]:
    """``{part: [tensors, parameters]}`` for trainable and frozen parameters, by
    top-level part (a DDP wrapper's ``module.`` prefix is left out)."""
    counts = (defaultdict(lambda: [0, 0]), defaultdict(lambda: [0, 0]))
    for name, param in model.named_parameters():
        name = name[len('module.'):] if name.startswith('module.') else name
        part = counts[0 if param.requires_grad else 1][name.split('.')[0]]
        part[0] += 1
        part[1] += param.numel()
    return counts


def trainable_summary(model: nn.Module) -> str:
    """E.g. ``'Trainable: 2 tensors, 2,112 parameters (head); frozen: 180 tensors,
    1,234,567 parameters (vision_encoder, ln_vision, neck, llm).'``"""

    def describe(parts: Dict[str, list]) -> str:
        tensors = sum(count[0] for count in parts.values())
        parameters = sum(count[1] for count in parts.values())
        names = f" ({', '.join(parts)})" if parts else ''
        return f'{tensors} tensors, {parameters:,} parameters{names}'

    trainable, frozen = count_by_part(model)
    return f'Trainable: {describe(trainable)}; frozen: {describe(frozen)}.'
