"""The result of converting checkpoint files: tensors under model keys, and where each came from."""
from dataclasses import dataclass, field
from typing import Dict, List, NamedTuple

import torch


class ConversionError(ValueError):
    """A checkpoint file does not fit the model; the message names the file and key."""


class KeyOrigin(NamedTuple):
    """A key of a source file (``source`` is the file, or how a value was made)."""
    source: str
    key: str

    def __str__(self) -> str:
        return f'{self.key!r} of {self.source}'


@dataclass
class DroppedKey:
    """A source key that is not in the converted checkpoint, and why."""
    origin: KeyOrigin
    reason: str


@dataclass
class ConvertedWeights:
    """Model-keyed tensors with their origins, and the dropped source keys.

    Attributes:
        tensors (dict): Model key -> tensor.
        origins (dict): Model key -> :class:`KeyOrigin`.
        dropped (list): :class:`DroppedKey` for every source key not kept.
        notes (list): Other changes made on the way (e.g. a resized pos_embed).
        providers (list): ``(source, KeyMapping)`` of every converted file, to
            trace a key the model misses back to the file key that would give it.
    """
    tensors: Dict[str, torch.Tensor] = field(default_factory=dict)
    origins: Dict[str, KeyOrigin] = field(default_factory=dict)
    dropped: List[DroppedKey] = field(default_factory=list)
    notes: List[str] = field(default_factory=list)
    providers: List[tuple] = field(default_factory=list)

    def add(self, key: str, tensor: torch.Tensor, origin: KeyOrigin) -> None:
        if key in self.tensors:
            raise ConversionError(f'{origin} and {self.origins[key]} both map to {key!r}.')
        self.tensors[key] = tensor
        self.origins[key] = origin

    def drop(self, origin: KeyOrigin, reason: str) -> None:
        self.dropped.append(DroppedKey(origin, reason))

    def update(self, other: 'ConvertedWeights') -> 'ConvertedWeights':
        """Add ``other``'s tensors and dropped keys (a model key may come from one file only)."""
        for key, tensor in other.tensors.items():
            self.add(key, tensor, other.origins[key])
        self.dropped.extend(other.dropped)
        self.notes.extend(other.notes)
        self.providers.extend(other.providers)
        return self

    def source_of_missing(self, key: str) -> str:
        """Which file key would have given the model key ``key``."""
        for source, mapping in self.providers:
            source_key = mapping.source_key(key)
            if source_key is not None:
                return f'{source} has no {source_key!r}'
        return 'no given file provides it'
