"""The model behind the server: a :class:`~..apis.Chat`'s model, image pipeline and settings.

The server is built from the same model arguments as ``tools/chat.py``
(``build_chat``): its model, its image pipeline (the inference pipeline of the
config: bicubic resize to the ViT size), its decoding settings (the defaults
of every request) and its ``max_length`` (prompt plus answer tokens). The
Chat's own conversation is never used: each request carries its own.
"""
import hashlib
from typing import List, Optional, Sequence, Tuple

import torch
from mmengine.dataset import default_collate

from ..apis import Chat
from ..apis.inferencers import image_sample
from .errors import RequestError
from .openai_schema import ChatCompletionRequest


class ServedModel:
    """What the server needs of the model.

    Args:
        chat (Chat): Built from the command line (``tools/chat.py``'s
            ``build_chat``); greedy or sampling, ``num_beams`` 1.
        name (str): The model name clients send (``GET /v1/models``).
        generation_overrides (dict, optional): Update the Chat's decoding
            settings for every request (``repetition_penalty``).

    Raises:
        ValueError: For ``num_beams > 1`` (beam search cannot stream), or
            bad overrides.
    """

    def __init__(self, chat: Chat, name: str, generation_overrides: Optional[dict] = None):
        self.name = name
        self.model = chat.model
        self.template = chat.template
        self.pipeline = chat.inferencer.pipeline
        self.defaults = self.model.generation_settings(
            {**chat.generation_cfg, **(generation_overrides or {})}, 'the server settings')
        if self.defaults.get('num_beams', 1) > 1:
            raise ValueError('The server streams answers token by token and batches them; '
                             'beam search can do neither: serve with --num-beams 1.')
        self.max_length = chat.max_length
        self.tokenizer = self.model.tokenizer
        self.context_length = self.model.context_length
        self.caption_instruction = self.model.caption_instruction

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    def generation_settings(self, request: ChatCompletionRequest, prompt_tokens: int) -> dict:
        """The request's ``model.generate`` settings, ``max_new_tokens`` included.

        ``temperature`` 0 is greedy decoding, above 0 sampling at that
        temperature; what the request leaves out is the server's setting.
        Without ``max_tokens``, the answer may take the server's
        ``--max-new-tokens``, or the room left in ``max_length``.

        Raises:
            RequestError: If the prompt (image tokens included) leaves no
                room for an answer in ``max_length``, or ``max_tokens`` does
                not fit it (``context_length_exceeded``).
        """
        room = self.max_length - prompt_tokens
        if room < 1:
            raise RequestError(
                f'The conversation needs {prompt_tokens} prompt tokens (image tokens included), '
                f"more than this server's limit of {self.max_length} tokens for prompt and "
                'answer together; shorten the messages.', param='messages',
                code='context_length_exceeded')
        if request.max_tokens is None:
            max_new_tokens = min(self.defaults['max_new_tokens'], room)
        elif request.max_tokens > room:
            raise RequestError(
                f'max_tokens is {request.max_tokens}, but the prompt takes {prompt_tokens} of '
                f"this server's {self.max_length} tokens for prompt and answer: at most {room} "
                'answer tokens fit.', param='max_tokens', code='context_length_exceeded')
        else:
            max_new_tokens = request.max_tokens
        settings = dict(self.defaults, max_new_tokens=max_new_tokens)
        if request.temperature is not None:
            settings['do_sample'] = request.temperature > 0
            if settings['do_sample']:
                settings['temperature'] = request.temperature
        if request.top_p is not None:
            settings['top_p'] = request.top_p
        if not settings['do_sample']:
            # Greedy decoding ignores them; transformers would warn about each.
            settings.pop('temperature', None)
            settings.pop('top_p', None)
        return self.model.generation_settings(settings, 'the request')

    def image_input(self, image) -> Tuple[dict, bytes]:
        """A decoded image (H, W, 3) uint8 BGR -> its pipeline sample (``inputs``
        (3, 224, 224) uint8) and a digest of those pixels (equal for equal images)."""
        sample = self.pipeline(image_sample(image))
        digest = hashlib.sha256(sample['inputs'].numpy().tobytes()).digest()
        return sample, digest

    @torch.no_grad()
    def encode_images(self, samples: Sequence[dict]) -> torch.Tensor:
        """Pipeline samples -> image tokens (N, T, D), one row per sample."""
        batch = default_collate(list(samples))
        images = self.model.data_preprocessor(batch, False)['images']
        return self.model.extract_image_tokens(images)

    def generate(self, image_tokens: torch.Tensor, prompts: List[str], streamer,
                 settings: dict) -> List[str]:
        """``MiniGPT4.generate``: batched, left-padded, streamed token by token."""
        return self.model.generate(image_tokens, prompts, streamer=streamer, **settings)
