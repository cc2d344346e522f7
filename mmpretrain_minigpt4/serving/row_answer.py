"""One request's answer, built token by token from its row of a batched generation.

A row is finished, for its client, exactly where ``MiniGPT4.generate`` would
stop it alone: at the template's stop strings (``'###'``, as its
``StopOnText``) or the end-of-sequence token; or earlier, at the request's own
``stop`` strings or its own ``max_tokens``, which the batch's generation
does not know. The text is ``MiniGPT4.generate``'s (the decoded tokens cut by
:func:`~..conversation.strip_generated_text`), then cut before the first
``stop`` string of the request.

Streaming sends only text that later tokens cannot change: a tail that may
still become a stop string or the assistant role marker (``'#'``,
``'Assist'``), trailing whitespace (the answer is stripped) and an
incomplete UTF-8 character are held back until the next token decides.
"""
from typing import Callable, List, Optional, Sequence

from ..conversation import ConversationTemplate, strip_generated_text

STOP = 'stop'
LENGTH = 'length'


class RowAnswer:
    """The answer of one row.

    Args:
        template (ConversationTemplate): The model's template (stop strings,
            assistant role).
        decode (Callable): Token ids -> text (special tokens dropped).
        eos_id (int): The end-of-sequence token.
        max_new_tokens (int): This request's limit.
        stop (Sequence[str]): This request's stop strings.
    """

    def __init__(self, template: ConversationTemplate, decode: Callable[[List[int]], str],
                 eos_id: int, max_new_tokens: int, stop: Sequence[str] = ()):
        self.template = template
        self.decode = decode
        self.eos_id = eos_id
        self.max_new_tokens = max_new_tokens
        self.stop = tuple(stop)
        self.model_stops = [s for s in (template.end_sym, template.sep) if s]
        # Tails that the next tokens may turn into something that changes the text.
        self._undecided = {text[:end] for text in (*self.model_stops, *self.stop,
                                                   template.roles[1].strip())
                           for end in range(1, len(text))}
        self.token_ids: List[int] = []
        self.text = ''
        self.finish_reason: Optional[str] = None
        self.stopped_by_model = False

    @property
    def finished(self) -> bool:
        return self.finish_reason is not None

    def add(self, token_id: int) -> None:
        """Take the row's next generated token (ignored once finished)."""
        if self.finished:
            return
        self.token_ids.append(token_id)
        raw = self.decode(self.token_ids)
        text = strip_generated_text(raw, self.template)
        cuts = [text.find(s) for s in self.stop if s in text]
        self.text = text[:min(cuts)] if cuts else text
        if token_id == self.eos_id or any(s in raw for s in self.model_stops):
            self.finish_reason, self.stopped_by_model = STOP, True
        elif cuts:
            self.finish_reason = STOP
        elif len(self.token_ids) >= self.max_new_tokens:
            self.finish_reason = LENGTH

    def end(self) -> None:
        """Generation ended with the row unfinished here: the model stopped it."""
        if not self.finished:
            self.finish_reason, self.stopped_by_model = STOP, True

    def streamable_text(self) -> str:
        """The beginning of the answer that later tokens cannot change (all of it once
        finished)."""
        if self.finished:
            return self.text
        text = self.text
        held = max((len(tail) for tail in self._undecided if text.endswith(tail)), default=0)
        return text[:len(text) - held].rstrip().rstrip('\ufffd').rstrip()
