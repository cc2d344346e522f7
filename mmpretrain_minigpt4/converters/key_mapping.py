"""Declarative renames between a checkpoint file's keys and the plugin model's keys."""
import re
from dataclasses import dataclass, field
from typing import Dict, Optional, Tuple

import torch

from .converted_weights import ConvertedWeights, KeyOrigin

_LAYER_INDEX = re.escape('{n}')


def _compile(pattern: str) -> 're.Pattern':
    """A pattern ending in '.' matches a key prefix, otherwise the whole key;
    ``{n}`` matches a layer index."""
    regex = re.escape(pattern).replace(_LAYER_INDEX, r'(?P<n>\d+)')
    return re.compile('^' + regex + ('' if pattern.endswith('.') else '$'))


def _substitute(match: 're.Match', key: str, target: str) -> str:
    if '{n}' in target:
        target = target.replace('{n}', match['n'])
    return target + key[match.end():]


@dataclass(frozen=True)
class KeyMapping:
    """How one kind of file's keys become model keys.

    Rules are tried in order, drops first; the first match wins. A pattern
    ending in '.' is a key prefix (the rest of the key is kept), any other
    pattern is a whole key; ``{n}`` stands for a layer index in both the
    source and the target pattern. Renames work in both directions, so a key
    the model misses can be traced back to the key the file lacks.

    Args:
        renames: ``(source_pattern, target_pattern)`` pairs.
        drops: ``(source_pattern, reason)`` pairs: keys the model does not use.
        unknown_reason (str): Reason recorded for a key no rule matches.
    """
    renames: Tuple[Tuple[str, str], ...]
    drops: Tuple[Tuple[str, str], ...] = ()
    unknown_reason: str = 'no counterpart in MiniGPT-4'
    _compiled: tuple = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        compiled = (
            [(_compile(source), target) for source, target in self.renames],
            [(_compile(target), source) for source, target in self.renames],
            [(_compile(source), reason) for source, reason in self.drops],
        )
        object.__setattr__(self, '_compiled', compiled)

    def target_key(self, source_key: str) -> Tuple[Optional[str], Optional[str]]:
        """``(target_key, None)`` for a kept key, ``(None, reason)`` for a dropped one."""
        renames, _, drops = self._compiled
        for regex, reason in drops:
            if regex.match(source_key):
                return None, reason
        for regex, target in renames:
            match = regex.match(source_key)
            if match:
                return _substitute(match, source_key, target), None
        return None, self.unknown_reason

    def source_key(self, target_key: str) -> Optional[str]:
        """The file key that maps to ``target_key`` (None if no rule produces it)."""
        for regex, source in self._compiled[1]:
            match = regex.match(target_key)
            if match:
                return _substitute(match, target_key, source)
        return None

    def convert(self, state_dict: Dict[str, torch.Tensor], source: str,
                skip: Optional[Dict[str, str]] = None) -> ConvertedWeights:
        """Rename every key of ``state_dict`` (a file's tensors) into model keys.

        Args:
            state_dict: The file's tensors (not copied).
            source (str): The file, named in the report and in errors.
            skip (dict, optional): ``{source_key: reason}`` dropped before the
                rules are tried.

        Returns:
            ConvertedWeights: Kept tensors under model keys, and every dropped
            key with its reason.
        """
        skip = skip or {}
        weights = ConvertedWeights(providers=[(source, self)])
        for key, tensor in state_dict.items():
            target, reason = (None, skip[key]) if key in skip else self.target_key(key)
            if target is None:
                weights.drop(KeyOrigin(source, key), reason)
            else:
                weights.add(target, tensor, KeyOrigin(source, key))
        return weights

