"""Prompt and answer of a training sample, from a conversation template."""
from typing import Optional, Sequence

import numpy as np
from mmcv.transforms import BaseTransform
from mmpretrain.registry import TRANSFORMS

from ...conversation import ALIGNMENT_INSTRUCTIONS, build_instruction_prompt, get_template


@TRANSFORMS.register_module()
class BuildInstructionPrompt(BaseTransform):
    """Set ``prompt`` (templated, with one ``<ImageHere>``) and ``answer``, the fields
    :class:`MiniGPT4` trains on.

    Each sample gets an instruction drawn at random (numpy's global RNG, which
    MMEngine seeds) from ``instructions``, wrapped by
    :func:`mmpretrain_minigpt4.conversation.build_instruction_prompt`. The
    ``'pretrain'`` template (stage 1) has no prompt: ``prompt`` is '' and
    nothing is drawn.

    **Required keys:** ``caption_key``. **Added keys:** ``prompt``, ``answer``.

    Args:
        template (str): Conversation template name; must be the model's
            ``template``. E.g. 'vicuna_v0', 'llama2', 'pretrain'.
        instructions (Sequence[str], optional): Instructions to draw from.
            Defaults to the official four alignment instructions.
        caption_key (str): Field copied into ``answer``. Defaults to 'gt_caption'.
    """

    def __init__(self,
                 template: str,
                 instructions: Optional[Sequence[str]] = None,
                 caption_key: str = 'gt_caption'):
        self.template = get_template(template)
        self.instructions = tuple(instructions or ALIGNMENT_INSTRUCTIONS)
        self.caption_key = caption_key

    def transform(self, results: dict) -> dict:
        if self.template.instruction_template is None:
            results['prompt'] = ''
        else:
            instruction = self.instructions[np.random.randint(len(self.instructions))]
            results['prompt'] = build_instruction_prompt(self.template, instruction)
        results['answer'] = results[self.caption_key]
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(template={self.template.name!r}, '
                f'instructions={self.instructions}, caption_key={self.caption_key!r})')
