"""Stop generation, row by row, once the decoded text contains a stop string."""
from typing import Callable, Sequence

import torch
from transformers import StoppingCriteria


class StopOnText(StoppingCriteria):
    """Per-sequence stop when the tail of the generated text contains a stop string.

    The official demo stops Vicuna at ``'###'``, which the Llama tokenizer
    writes as ``[835]`` or ``[2277, 29937]`` depending on what precedes it;
    matching text covers every spelling.

    Args:
        stop_strings (Sequence[str]): Strings that end an answer.
        decode (Callable): Token ids -> text.
        prompt_length (int): Tokens before generation starts in ``input_ids``
            (0 when generating from ``inputs_embeds``).
        tail_tokens (int): How many trailing tokens to decode. Defaults to 8.
    """

    def __init__(self, stop_strings: Sequence[str], decode: Callable,
                 prompt_length: int = 0, tail_tokens: int = 8):
        self.stop_strings = [s for s in stop_strings if s]
        self.decode = decode
        self.prompt_length = prompt_length
        self.tail_tokens = tail_tokens

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor, **kwargs) -> torch.Tensor:
        generated = input_ids[:, self.prompt_length:][:, -self.tail_tokens:].tolist()
        done = [any(s in self.decode(ids) for s in self.stop_strings) for ids in generated]
        return torch.tensor(done, dtype=torch.bool, device=input_ids.device)
