"""OpenAI's chat-completions request and response, as far as MiniGPT-4 serves them.

A request is checked field by field before any work, and an error names the
field as OpenAI does (``temperature``, ``stop``). ``messages`` is only checked
to be a non-empty list here; :mod:`.request_conversation` reads it. Optional
fields may be ``null`` (OpenAI's clients send that for "not given").
"""
import json
import numbers
import uuid
from dataclasses import dataclass
from typing import Optional, Tuple

from .errors import RequestError

SUPPORTED_FIELDS = ('model', 'messages', 'max_tokens', 'max_completion_tokens', 'temperature',
                    'top_p', 'stop', 'seed', 'n', 'stream', 'stream_options', 'user')
MAX_STOP_SEQUENCES = 4  # as OpenAI
MAX_TEMPERATURE = 2.0  # as OpenAI
SEED_RANGE = (-2**63, 2**64 - 1)  # what torch.manual_seed takes


@dataclass(frozen=True)
class ChatCompletionRequest:
    """A checked ``POST /v1/chat/completions`` body.

    ``max_tokens`` is OpenAI's ``max_tokens`` or ``max_completion_tokens``;
    None means the server's default (bounded by the context). ``temperature``
    0 is greedy decoding; None leaves the server's decoding.
    """
    model: str
    messages: list
    max_tokens: Optional[int] = None
    temperature: Optional[float] = None
    top_p: Optional[float] = None
    stop: Tuple[str, ...] = ()
    seed: Optional[int] = None
    stream: bool = False
    include_usage: bool = False


def _is_int(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _is_number(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _invalid(field: str, expected: str, value) -> RequestError:
    shown = json.dumps(value)
    shown = shown if len(shown) <= 60 else shown[:57] + '...'
    return RequestError(f'Invalid value for {field!r}: expected {expected}, got {shown}.',
                        param=field, code='invalid_value')


def parse_json_body(body: bytes):
    """The request body as JSON, else a 400 error."""
    try:
        return json.loads(body)
    except (UnicodeDecodeError, ValueError) as error:
        raise RequestError(f'The request body is not valid JSON ({error}).',
                           code='invalid_json') from None


def parse_chat_request(data) -> ChatCompletionRequest:
    """Check a parsed JSON body: types, ranges, supported fields.

    Raises:
        RequestError: Naming the first field at fault.
    """
    if not isinstance(data, dict):
        raise RequestError('The request body must be a JSON object.', code='invalid_json')
    unknown = [key for key in data if key not in SUPPORTED_FIELDS]
    if unknown:
        raise RequestError(
            f'Unsupported parameter {unknown[0]!r}; this server takes '
            f'{", ".join(SUPPORTED_FIELDS)}.', param=unknown[0], code='unsupported_parameter')
    given = {key: value for key, value in data.items() if value is not None}
    for field in ('model', 'messages'):
        if field not in given:
            raise RequestError(f'Missing required parameter {field!r}.', param=field,
                               code='missing_required_parameter')
    if not isinstance(given['model'], str):
        raise _invalid('model', 'a string', given['model'])
    messages = given['messages']
    if not isinstance(messages, list) or not messages:
        raise _invalid('messages', 'a non-empty list of messages', messages)

    for field in ('max_tokens', 'max_completion_tokens'):
        if field in given and not (_is_int(given[field]) and given[field] >= 1):
            raise _invalid(field, 'an integer >= 1', given[field])
    if 'max_tokens' in given and 'max_completion_tokens' in given:
        raise RequestError('Give max_tokens or max_completion_tokens, not both.',
                           param='max_completion_tokens', code='invalid_value')
    max_tokens = given.get('max_tokens', given.get('max_completion_tokens'))

    temperature = given.get('temperature')
    if temperature is not None and not (_is_number(temperature) and
                                        0 <= temperature <= MAX_TEMPERATURE):
        raise _invalid('temperature', f'a number in [0, {MAX_TEMPERATURE:g}]', temperature)
    top_p = given.get('top_p')
    if top_p is not None and not (_is_number(top_p) and 0 < top_p <= 1):
        raise _invalid('top_p', 'a number in (0, 1]', top_p)
    n = given.get('n', 1)
    if not _is_int(n) or n != 1:
        raise _invalid('n', '1 (one answer per request)', n)
    seed = given.get('seed')
    if seed is not None and not (_is_int(seed) and SEED_RANGE[0] <= seed <= SEED_RANGE[1]):
        raise _invalid('seed', 'a 64-bit integer', seed)
    if 'user' in given and not isinstance(given['user'], str):
        raise _invalid('user', 'a string', given['user'])

    stream = given.get('stream', False)
    if not isinstance(stream, bool):
        raise _invalid('stream', 'true or false', stream)
    options = given.get('stream_options')
    include_usage = False
    if options is not None:
        if not stream:
            raise RequestError('stream_options is only allowed with stream: true.',
                               param='stream_options', code='invalid_value')
        if not isinstance(options, dict) or set(options) - {'include_usage'}:
            raise _invalid('stream_options', 'an object with include_usage only', options)
        include_usage = options.get('include_usage', False)
        if not isinstance(include_usage, bool):
            raise _invalid('stream_options.include_usage', 'true or false', include_usage)

    return ChatCompletionRequest(
        model=given['model'], messages=messages, max_tokens=max_tokens,
        temperature=temperature, top_p=top_p, stop=_parse_stop(given.get('stop')), seed=seed,
        stream=stream, include_usage=include_usage)


def _parse_stop(stop) -> Tuple[str, ...]:
    """``stop``: a string or up to 4 strings, none empty."""
    if stop is None:
        return ()
    stops = [stop] if isinstance(stop, str) else stop
    if (not isinstance(stops, list) or not 1 <= len(stops) <= MAX_STOP_SEQUENCES or
            not all(isinstance(s, str) and s for s in stops)):
        raise _invalid('stop', f'a non-empty string or a list of 1 to {MAX_STOP_SEQUENCES} '
                       'non-empty strings', stop)
    return tuple(stops)


# ---------------------------------------------------------------------- responses
def completion_id() -> str:
    """A new ``chatcmpl-...`` id."""
    return f'chatcmpl-{uuid.uuid4().hex}'


def usage(prompt_tokens: int, completion_tokens: int) -> dict:
    """Prompt tokens (image tokens included) and generated tokens."""
    return {'prompt_tokens': prompt_tokens, 'completion_tokens': completion_tokens,
            'total_tokens': prompt_tokens + completion_tokens}


def chat_completion(request_id: str, created: int, model: str, text: str,
                    finish_reason: str, token_usage: dict) -> dict:
    """The ``chat.completion`` object of a whole answer."""
    return {
        'id': request_id, 'object': 'chat.completion', 'created': created, 'model': model,
        'choices': [{'index': 0, 'message': {'role': 'assistant', 'content': text},
                     'logprobs': None, 'finish_reason': finish_reason}],
        'usage': token_usage}


def chat_completion_chunk(request_id: str, created: int, model: str, delta: Optional[dict],
                          finish_reason: Optional[str] = None,
                          token_usage: Optional[dict] = None) -> dict:
    """A ``chat.completion.chunk``: one choice with ``delta``, or (``delta`` None) no
    choice and the usage, as OpenAI's last chunk with ``include_usage``."""
    choices = [] if delta is None else [
        {'index': 0, 'delta': delta, 'logprobs': None, 'finish_reason': finish_reason}]
    return {'id': request_id, 'object': 'chat.completion.chunk', 'created': created,
            'model': model, 'choices': choices, 'usage': token_usage}


def model_list(name: str, created: int) -> dict:
    """``GET /v1/models``: the one served model."""
    return {'object': 'list', 'data': [
        {'id': name, 'object': 'model', 'created': created, 'owned_by': 'mmpretrain-minigpt4'}]}


def server_event(data) -> str:
    """One server-sent event: ``data: <json>`` (or the ``[DONE]`` marker)."""
    payload = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False)
    return f'data: {payload}\n\n'
