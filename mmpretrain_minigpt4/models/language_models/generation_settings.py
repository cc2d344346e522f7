"""Generation settings, checked before any work: names, value ranges, the LLM's context.

transformers' ``GenerationConfig`` keeps any unknown keyword as an attribute
(a misspelt ``temprature`` is silently ignored) and reports bad values only
once generation runs, some only as warnings. MiniGPT-4 checks the settings it
is given when they are set, naming the setting, and checks that prompt plus
answer fit the LLM's context before any image is encoded.
"""
import difflib
import numbers
from typing import Mapping, Sequence

# The decoding settings MiniGPT-4 passes to ``GenerationConfig``. Others either
# change what ``generate`` returns (``num_return_sequences``, ``output_scores``,
# ``return_dict_in_generate``), are set by the model (token ids, the stop
# criteria) or count the prompt differently (``max_length``: use ``max_new_tokens``).
SUPPORTED_SETTINGS = (
    'max_new_tokens', 'min_new_tokens', 'min_length', 'num_beams', 'do_sample', 'temperature',
    'top_p', 'top_k', 'min_p', 'typical_p', 'repetition_penalty', 'length_penalty',
    'no_repeat_ngram_size', 'early_stopping', 'bad_words_ids', 'sequence_bias', 'suppress_tokens',
    'epsilon_cutoff', 'eta_cutoff', 'max_time', 'use_cache', 'cache_implementation',
    'renormalize_logits', 'remove_invalid_values')


def _is_int(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _is_number(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


# setting -> (check, what a valid value is)
_RANGES = {
    'max_new_tokens': (lambda v: _is_int(v) and v >= 1, 'an integer >= 1'),
    'min_new_tokens': (lambda v: _is_int(v) and v >= 0, 'an integer >= 0'),
    'min_length': (lambda v: _is_int(v) and v >= 0, 'an integer >= 0'),
    'num_beams': (lambda v: _is_int(v) and v >= 1, 'an integer >= 1'),
    'do_sample': (lambda v: isinstance(v, bool), 'True or False'),
    'temperature': (lambda v: _is_number(v) and v > 0, 'a number > 0'),
    'top_p': (lambda v: _is_number(v) and 0 < v <= 1, 'a number in (0, 1]'),
    'top_k': (lambda v: _is_int(v) and v >= 0, 'an integer >= 0'),
    'min_p': (lambda v: _is_number(v) and 0 <= v <= 1, 'a number in [0, 1]'),
    'typical_p': (lambda v: _is_number(v) and 0 < v <= 1, 'a number in (0, 1]'),
    'repetition_penalty': (lambda v: _is_number(v) and v > 0, 'a number > 0'),
    'length_penalty': (_is_number, 'a number'),
    'no_repeat_ngram_size': (lambda v: _is_int(v) and v >= 0, 'an integer >= 0'),
    'max_time': (lambda v: _is_number(v) and v > 0, 'a number of seconds > 0'),
}


def check_generation_settings(settings: Mapping, source: str) -> dict:
    """Check the names and values of generation settings.

    Args:
        settings (Mapping): e.g. ``dict(max_new_tokens=300, num_beams=1)``.
        source (str): Where they were given (``'model.generation_cfg'``,
            ``'Chat.answer()'``), for messages.

    Returns:
        dict: A copy of ``settings``.

    Raises:
        ValueError: For an unknown setting (with the closest known name) or a
            value out of its range.
    """
    for name, value in settings.items():
        if name not in SUPPORTED_SETTINGS:
            close = difflib.get_close_matches(str(name), SUPPORTED_SETTINGS, n=1)
            hint = f' Did you mean {close[0]!r}?' if close else ''
            raise ValueError(f'{source}: {name!r} is not a supported generation setting.{hint} '
                             f'Supported: {", ".join(SUPPORTED_SETTINGS)}.')
        if name in _RANGES and value is not None:
            check, valid = _RANGES[name]
            if not check(value):
                raise ValueError(f'{source}: {name} must be {valid}, got {value!r}.')
    minimum, maximum = settings.get('min_new_tokens'), settings.get('max_new_tokens')
    if minimum is not None and maximum is not None and minimum > maximum:
        raise ValueError(f'{source}: min_new_tokens ({minimum}) exceeds max_new_tokens '
                         f'({maximum}).')
    return dict(settings)


def check_context_length(prompt_lengths: Sequence[int], max_new_tokens: int,
                         context_length: int, source: str) -> None:
    """Prompt tokens (image included) plus ``max_new_tokens`` must fit the LLM's context.

    Raises:
        ValueError: Naming the longest prompt and the numbers, before any work.
    """
    longest = max(range(len(prompt_lengths)), key=prompt_lengths.__getitem__, default=None)
    if longest is None:
        return
    needed = prompt_lengths[longest] + max_new_tokens
    if needed > context_length:
        raise ValueError(
            f'{source}: prompt {longest} has {prompt_lengths[longest]} tokens (image tokens '
            f'included); with max_new_tokens={max_new_tokens} that is {needed} tokens, more '
            f"than the LLM's context of {context_length} (its max_position_embeddings). "
            'Shorten the prompt or lower max_new_tokens.')
