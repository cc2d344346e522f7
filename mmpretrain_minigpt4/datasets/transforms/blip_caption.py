"""The official ``blip_caption`` text processor (stage-1 captions)."""
import re
from typing import Sequence, Union

from mmcv.transforms import BaseTransform
from mmpretrain.registry import TRANSFORMS

from ..image_text_dataset import BadSampleError

_PUNCTUATION = re.compile(r'[.!"()*#:;~]')
_SPACE_RUNS = re.compile(r'\s{2,}')


def blip_caption(text: str, max_words: int = 50) -> str:
    """Clean a web caption as BLIP / MiniGPT-4 stage 1 do.

    Lower-case; ``. ! " ( ) * # : ; ~`` become spaces; runs of 2+ whitespace
    characters become one space; trailing newlines and surrounding spaces go;
    the first ``max_words`` space-separated words are kept.

    >>> blip_caption('A dog (brown)  runs!\\n')
    'a dog brown runs'
    """
    text = _PUNCTUATION.sub(' ', text.lower())
    text = _SPACE_RUNS.sub(' ', text)
    text = text.rstrip('\n').strip(' ')
    return ' '.join(text.split(' ')[:max_words])


@TRANSFORMS.register_module()
class BlipCaption(BaseTransform):
    """Apply :func:`blip_caption` to text fields.

    **Modified keys:** ``keys``.

    Args:
        keys (str | Sequence[str]): Text fields. Defaults to 'gt_caption'.
        max_words (int): Words kept. Defaults to 50 (official).

    Raises:
        BadSampleError: If a caption is empty after cleaning (e.g. ``'...'``).
    """

    def __init__(self, keys: Union[str, Sequence[str]] = 'gt_caption', max_words: int = 50):
        self.keys = [keys] if isinstance(keys, str) else list(keys)
        self.max_words = max_words

    def transform(self, results: dict) -> dict:
        for key in self.keys:
            cleaned = blip_caption(results[key], self.max_words)
            if not cleaned:
                raise BadSampleError(f'{key} {results[key]!r} is empty after blip_caption')
            results[key] = cleaned
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}(keys={self.keys}, max_words={self.max_words})'
