"""Turn a multiple-choice sample (ScienceQA) into one question text for the LLM."""
from typing import Sequence

from mmcv.transforms import BaseTransform
from mmpretrain.registry import TRANSFORMS

DEFAULT_INSTRUCTION = "Answer with the option's letter from the given choices directly."


@TRANSFORMS.register_module()
class FormatMultipleChoiceQuestion(BaseTransform):
    """Write the context, question and lettered options into ``question``.

    The result, e.g. for ScienceQA::

        Context: <hint>
        Question: Which animal is a mammal?
        Options: (A) frog (B) cat
        Answer with the option's letter from the given choices directly.

    (no ``Context`` line when the hint is empty) is then wrapped by the
    model's ``vqa_instruction`` and template, and scored by
    ``ScienceQAAccuracy``, which reads the letter back.

    Required keys: ``question``, ``choices`` (list[str]); optional: ``hint``.
    Modified keys: ``question``.

    Args:
        options (Sequence[str]): Option letters. Defaults to 'A'..'E'.
        instruction (str): Last line. Defaults to the letter-only instruction.
    """

    def __init__(self, options: Sequence[str] = ('A', 'B', 'C', 'D', 'E'),
                 instruction: str = DEFAULT_INSTRUCTION):
        self.options = tuple(options)
        self.instruction = instruction

    def transform(self, results: dict) -> dict:
        choices = results['choices']
        if not 0 < len(choices) <= len(self.options):
            raise ValueError(f'A multiple-choice question needs 1 to {len(self.options)} '
                             f'choices, got {len(choices)} for question {results["question"]!r}.')
        lines = [f'Context: {results["hint"]}'] if results.get('hint') else []
        lines.append(f'Question: {results["question"]}')
        lines.append('Options: ' + ' '.join(
            f'({letter}) {choice}' for letter, choice in zip(self.options, choices)))
        lines.append(self.instruction)
        results['question'] = '\n'.join(lines)
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(options={self.options}, '
                f'instruction={self.instruction!r})')
