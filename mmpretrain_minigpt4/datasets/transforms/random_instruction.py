"""The instruction of a stage-2 training sample, drawn at random."""
from typing import Optional, Sequence

import numpy as np
from mmcv.transforms import BaseTransform
from mmpretrain.registry import TRANSFORMS

from ...conversation import ALIGNMENT_INSTRUCTIONS


@TRANSFORMS.register_module()
class RandomInstruction(BaseTransform):
    """Set ``instruction`` to one drawn at random (numpy's global RNG, which
    MMEngine seeds) from ``instructions``, as the official stage 2 does.

    The model wraps it, with the image, in its own conversation template
    (``model.template``), so the template is set in one place only.

    **Added keys:** ``instruction``.

    Args:
        instructions (Sequence[str], optional): Instructions to draw from.
            Defaults to the official four alignment instructions.
    """

    def __init__(self, instructions: Optional[Sequence[str]] = None):
        self.instructions = tuple(ALIGNMENT_INSTRUCTIONS if instructions is None
                                  else instructions)
        if not self.instructions or not all(
                isinstance(text, str) and text.strip() for text in self.instructions):
            raise ValueError('RandomInstruction.instructions must be non-empty strings, got '
                             f'{instructions!r}.')

    def transform(self, results: dict) -> dict:
        results['instruction'] = self.instructions[np.random.randint(len(self.instructions))]
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}(instructions={self.instructions})'
