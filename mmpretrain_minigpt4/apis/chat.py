"""Multi-turn chat about one image, as the official MiniGPT-4 and MiniGPT-v2 demos.

The prompt is the official ``Conversation.get_prompt`` of the model's template
(:func:`~mmpretrain_minigpt4.conversation.build_chat_prompt`); the first
question joins the image message (``'<Img><ImageHere></Img> question'``);
generation stops at the template's separator / end symbol. What differs per
template beyond the strings, as the official demos do it, is a
:class:`ChatStyle` (:data:`CHAT_STYLES`): MiniGPT-v2 (``demo_v2.py``) samples
at temperature 0.6 up to 500 new tokens, keeps no earlier answer in the prompt
(each becomes ``'</s>'``), and its answers may hold boxes
(:meth:`Chat.grounded_answer`). Unlike the official demos, a long
conversation is shortened by dropping whole old rounds, never the system
prompt or the image turn, and answers can be streamed.
"""
from dataclasses import dataclass, field
from queue import Queue
from threading import Event, Thread
from typing import Dict, Iterator, List, Optional, Union

import numpy as np
import torch
from transformers.generation.streamers import BaseStreamer

from ..conversation import IMAGE_PROMPT, build_chat_prompt, check_question, strip_generated_text
from ..datasets.image_decoding import ImageInput, read_image
from ..grounding import GroundedAnswer, parse_grounded_text
from .inferencers import MiniGPT4CaptionInferencer

# The official demo's ``Chat.answer`` settings (sampling).
CHAT_GENERATION_CFG = dict(
    max_new_tokens=300, num_beams=1, min_length=1, top_p=0.9, repetition_penalty=1.05,
    length_penalty=1.0, temperature=1.0, do_sample=True)

USER, ASSISTANT = 0, 1


@dataclass(frozen=True)
class ChatStyle:
    """How the official demo of a conversation template chats.

    Args:
        generation_cfg (dict): The demo's settings over :data:`CHAT_GENERATION_CFG`.
            Defaults to none.
        earlier_answer (str, optional): What an answered turn holds in the
            prompts of later questions. Defaults to None (the answer itself).
        grounded (bool): Whether answers may hold boxes as text
            (``<p>phrase</p> {<x1><y1><x2><y2>}``). Defaults to False.
    """
    generation_cfg: dict = field(default_factory=dict)
    earlier_answer: Optional[str] = None
    grounded: bool = False


CHAT_STYLES: Dict[str, ChatStyle] = {
    # demo_v2.py: the temperature slider starts at 0.6 (:550-557) and answers get
    # max_new_tokens=500 (:468-472); after streaming an answer the demo sets that
    # turn's text to '</s>' (:479), so later prompts hold '[/INST]</s>' where the
    # answer was; boxes are drawn from the answer (:483-495).
    'minigptv2': ChatStyle(dict(temperature=0.6, max_new_tokens=500), earlier_answer='</s>',
                           grounded=True),
}


def chat_style(template_name: str) -> ChatStyle:
    """The :class:`ChatStyle` of a template: :data:`CHAT_STYLES`' entry, else the v1 demo's."""
    return CHAT_STYLES.get(template_name, ChatStyle())


GENERATION_THREAD_NAME = 'minigpt4-chat-generation'


class GenerationCancelled(Exception):
    """Raised in the generating thread when the reader has stopped reading."""


class _TokenQueue(BaseStreamer):
    """Hands generated token ids from the generating thread to the reader; a
    cancelled queue stops the generation at its next token."""

    _END = object()

    def __init__(self):
        self._queue = Queue()
        self._cancelled = Event()

    def cancel(self) -> None:
        self._cancelled.set()

    def put(self, value: torch.Tensor) -> None:
        if self._cancelled.is_set():
            raise GenerationCancelled()  # ends model.generate in its thread
        self._queue.put(value.reshape(-1).tolist())

    def end(self) -> None:
        self._queue.put(self._END)

    def run(self, generate, kwargs: dict) -> None:
        """Thread target: ``generate(**kwargs)``; any exception is re-raised to the reader
        (which would otherwise wait forever for the end)."""
        try:
            generate(**kwargs)
        except BaseException as error:  # noqa: BLE001  (re-raised in __iter__)
            self._queue.put(error)

    def __iter__(self) -> Iterator[List[int]]:
        while True:
            item = self._queue.get()
            if item is self._END:
                return
            if isinstance(item, BaseException):
                raise item
            yield item


class Chat:
    """Chat with MiniGPT-4 or MiniGPT-v2 about an image.

    >>> chat = Chat('minigpt-4_vicuna-7b_caption')
    >>> chat.upload_image('cat.jpg')
    >>> chat.ask('What is in the picture?')
    >>> chat.answer()
    'A cat sleeping on a sofa.'
    >>> chat.ask('What colour is it?')
    >>> for partial in chat.stream_answer(): print(partial)

    Args:
        model (str | BaseModel | MiniGPT4CaptionInferencer): A model name, a
            config path, a model from ``get_model``, or an inferencer to reuse.
        pretrained (bool | str): As :class:`MiniGPT4CaptionInferencer`.
            Defaults to True (the model index checkpoint).
        max_length (int): Prompt tokens (image included) plus
            ``max_new_tokens`` never exceed this (nor the LLM's context).
            Defaults to 2000 (official, both demos).
        generation_cfg (dict, optional): Overrides of the official demo's
            sampling: :data:`CHAT_GENERATION_CFG` updated with the template's
            :class:`ChatStyle` settings (MiniGPT-v2: temperature 0.6, 500 new
            tokens). E.g. ``dict(do_sample=False)`` for greedy answers; checked as
            ``model.generation_cfg``. With ``num_beams > 1`` an answer is
            streamed in one piece (beam search cannot stream).
        **kwargs: ``device`` and model config overrides, for the inferencer.
    """

    def __init__(self, model, pretrained: Union[bool, str] = True, max_length: int = 2000,
                 generation_cfg: Optional[dict] = None, **kwargs):
        if isinstance(model, MiniGPT4CaptionInferencer):
            self.inferencer = model
        else:
            self.inferencer = MiniGPT4CaptionInferencer(model, pretrained, **kwargs)
        self.model = self.inferencer.model
        self.template = self.model.template
        if not self.template.roles[USER]:
            raise ValueError(f'Template {self.template.name!r} has no chat roles; chat needs '
                             "a chat template: 'vicuna_v0', 'llama2' or 'minigptv2'.")
        context = self.model.context_length
        if not isinstance(max_length, int) or not 0 < max_length <= context:
            raise ValueError(f'Chat max_length must be an integer in [1, {context}] (the '
                             f"LLM's context), got {max_length!r}.")
        self.max_length = max_length
        self.style = chat_style(self.template.name)
        self.generation_cfg = self.model.generation_settings(
            {**CHAT_GENERATION_CFG, **self.style.generation_cfg, **(generation_cfg or {})},
            'Chat generation_cfg')
        self.image: Optional[np.ndarray] = None  # RGB (H, W, 3), as decoded
        self.image_tokens: Optional[torch.Tensor] = None
        self.messages: List[list] = []

    # ------------------------------------------------------------------ conversation
    def upload_image(self, image: ImageInput) -> None:
        """Start a new conversation about ``image`` (path, PIL image or BGR array),
        decoded as in training and evaluation (kept in :attr:`image`, RGB)."""
        bgr = read_image(image)
        batch = next(self.inferencer.preprocess([bgr]))
        with torch.no_grad():
            images = self.model.data_preprocessor(batch, False)['images']
            self.image_tokens = self.model.extract_image_tokens(images)
        self.image = np.ascontiguousarray(bgr[..., ::-1])
        self.messages = [[USER, IMAGE_PROMPT]]

    def ask(self, question: str) -> None:
        """Add a user message; the first one joins the image message.

        Raises:
            RuntimeError: Before an image is uploaded.
            ValueError: For an empty question.
        """
        if self.image_tokens is None:
            raise RuntimeError('Call upload_image() before ask().')
        question = check_question(question).strip()
        last_role, last_text = self.messages[-1]
        if last_role == USER and last_text.endswith('</Img>'):
            self.messages[-1][1] = f'{last_text} {question}'
        else:
            self.messages.append([USER, question])

    def withdraw_question(self) -> None:
        """Take back the last question if it has no answer (its answer failed), so the
        conversation goes on as before it."""
        if not self.messages or self.messages[-1][0] != USER:
            return
        if len(self.messages) == 1:
            self.messages[0][1] = IMAGE_PROMPT
        else:
            self.messages.pop()

    def reset(self) -> None:
        """Forget the image and the conversation."""
        self.image = None
        self.image_tokens = None
        self.messages = []

    # ------------------------------------------------------------------ prompt
    def build_prompt(self, max_new_tokens: Optional[int] = None) -> str:
        """The prompt of the next answer, shortened to fit ``max_length`` with
        ``max_new_tokens`` (default: ``generation_cfg``'s) after it.

        Earlier answers are the style's ``earlier_answer`` where it has one
        (MiniGPT-v2: ``'</s>'``). Whole question/answer rounds after the image
        turn are dropped, oldest first; the system prompt, the image turn and
        the latest question stay.

        Raises:
            ValueError: If even those do not fit.
        """
        last = self.messages[-1] if self.messages else [ASSISTANT, None]
        if last[0] != USER or last[1] == IMAGE_PROMPT:
            raise RuntimeError('Call ask() before answering.')
        if max_new_tokens is None:
            max_new_tokens = self.generation_cfg['max_new_tokens']
        budget = self.max_length - max_new_tokens
        earlier_answer = self.style.earlier_answer
        prompt_messages = [
            (role, earlier_answer if role == ASSISTANT and earlier_answer is not None else text)
            for role, text in self.messages]
        image_turn, later = prompt_messages[:2], prompt_messages[2:]
        while True:
            messages = image_turn + later + [(ASSISTANT, None)]
            prompt = build_chat_prompt(self.template, messages)
            length = self.model.prompt_length(prompt)
            if length <= budget:
                return prompt
            if len(later) <= 1:
                raise ValueError(
                    f'The chat prompt needs {length} tokens, more than max_length '
                    f'({self.max_length}) minus max_new_tokens ({max_new_tokens}); ask a '
                    'shorter question.')
            later = later[2:]

    # ------------------------------------------------------------------ answer
    def stream_answer(self, **generation_overrides) -> Iterator[str]:
        """Yield the answer so far after every generated token.

        When the generator is exhausted, the final answer joins the
        conversation; closing it early stops the generation (at its next token)
        and leaves the question unanswered. ``generation_overrides`` update ``generation_cfg`` for
        this answer (checked before anything runs). Beam search
        (``num_beams > 1``) cannot stream: its answer is yielded once, whole.
        """
        settings = self.model.generation_settings(
            {**self.generation_cfg, **generation_overrides}, 'Chat answer settings')
        if not settings['do_sample']:
            # Greedy / beam search ignores them; transformers would warn about each.
            for key in ('top_p', 'temperature'):
                settings.pop(key, None)
        prompt = self.build_prompt(settings['max_new_tokens'])
        if settings['num_beams'] > 1:
            answer = self.model.generate(self.image_tokens, [prompt], **settings)[0]
            yield answer
        else:
            answer = yield from self._stream(prompt, settings)
        self.messages.append([ASSISTANT, answer])

    def _stream(self, prompt: str, settings: dict) -> Iterator[str]:
        """Generate in a thread, yielding the decoded answer after every token; returns it."""
        streamer = _TokenQueue()
        generate_kwargs = dict(image_tokens=self.image_tokens, prompts=[prompt],
                               streamer=streamer, **settings)
        thread = Thread(target=streamer.run, args=(self.model.generate, generate_kwargs),
                        name=GENERATION_THREAD_NAME, daemon=True)
        thread.start()
        tokenizer = self.model.tokenizer
        token_ids, answer = [], ''
        try:
            for new_ids in streamer:
                if not new_ids:  # the (empty) prompt ids, put before generation starts
                    continue
                token_ids.extend(new_ids)
                answer = strip_generated_text(tokenizer.decode(token_ids), self.template)
                yield answer
        finally:
            # A reader that stops early (a closed web page: GeneratorExit here) stops
            # the generation too, instead of leaving it running on the shared model.
            streamer.cancel()
            thread.join()
        return answer

    def answer(self, **generation_overrides) -> str:
        """The whole answer to the last question (see :meth:`stream_answer`)."""
        answer = ''
        for answer in self.stream_answer(**generation_overrides):
            pass
        return answer

    # ------------------------------------------------------------------ grounding
    def grounded_answer(self) -> Optional[GroundedAnswer]:
        """The last answer's phrases and boxes in pixels of :attr:`image` (see
        :func:`~mmpretrain_minigpt4.grounding.parse_grounded_text`); None unless
        the template's answers hold boxes (MiniGPT-v2) and the last message is
        an answer."""
        if not self.style.grounded or self.image is None or not self.messages \
                or self.messages[-1][0] != ASSISTANT:
            return None
        height, width = self.image.shape[:2]
        return parse_grounded_text(self.messages[-1][1], (width, height))
