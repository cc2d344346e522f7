"""MiniGPT-v2's boxes as text (pure Python, no torch).

A box is written ``{<x1><y1><x2><y2>}``: its corners as integers on a 0-100 grid
of the original image (x to the right, y down). Several boxes of one phrase are
joined by ``<delim>``, and a phrase is marked ``<p>phrase</p>`` before its boxes:

    <p>a man</p> {<10><20><45><98>} rides <p>two horses</p> {<30><40><60><99>}<delim>{<61><40><90><99>}

``[refer]`` answers are one bare box. Training text is made as the official
datasets make it (``int(x / W * 100)``: truncation); answers are read back into
pixels as the official demo and evaluation do (``x / 100 * W``).
"""
import math
import re
from typing import List, NamedTuple, Optional, Sequence, Tuple

BOX_GRID = 100
DELIM = '<delim>'

PixelBox = Tuple[float, float, float, float]  # x1, y1, x2, y2 in pixels of the image


class GridBox(NamedTuple):
    """A box's corners on the 0-100 grid."""
    x1: int
    y1: int
    x2: int
    y2: int


class Phrase(NamedTuple):
    """A phrase (None for a bare box) and its boxes in image pixels."""
    text: Optional[str]
    boxes: List[PixelBox]


class GroundedAnswer(NamedTuple):
    """An answer read: its text without markup, its phrases with boxes, and what
    could not be read (each problem names the box text)."""
    text: str
    phrases: List[Phrase]
    problems: List[str]

    @property
    def boxes(self) -> List[PixelBox]:
        """Every box, in the order of the answer."""
        return [box for phrase in self.phrases for box in phrase.boxes]


# ------------------------------------------------------------------ writing
def coco_to_corners(box: Sequence[float]) -> PixelBox:
    """COCO's ``[x, y, w, h]`` -> ``(x1, y1, x2, y2)``."""
    x, y, w, h = box
    return (x, y, x + w, y + h)


def to_grid(box: Sequence[float], image_size: Tuple[int, int]) -> GridBox:
    """A pixel box ``(x1, y1, x2, y2)`` in an image of ``(width, height)`` -> grid
    integers, truncated as the official datasets do.

    Raises:
        ValueError: For a box that is not finite, has its corners reversed or is
            outside the image (an annotation error, not a box to clamp).
    """
    width, height = image_size
    x1, y1, x2, y2 = box
    if not all(math.isfinite(v) for v in box):
        raise ValueError(f'Box {tuple(box)} has a value that is not finite.')
    if not (0 <= x1 <= x2 <= width and 0 <= y1 <= y2 <= height):
        raise ValueError(f'Box {tuple(box)} (x1, y1, x2, y2) is not inside an image of '
                         f'{width} x {height} pixels with x1 <= x2 and y1 <= y2.')
    return GridBox(int(x1 / width * BOX_GRID), int(y1 / height * BOX_GRID),
                   int(x2 / width * BOX_GRID), int(y2 / height * BOX_GRID))


def format_box(box: GridBox) -> str:
    """``{<x1><y1><x2><y2>}``."""
    return '{' + ''.join(f'<{v}>' for v in box) + '}'


def format_boxes(boxes: Sequence[GridBox]) -> str:
    """Several boxes of one phrase: ``{...}<delim>{...}``."""
    if not boxes:
        raise ValueError('format_boxes needs at least one box.')
    return DELIM.join(format_box(box) for box in boxes)


def format_phrase(phrase: str, boxes: Sequence[GridBox]) -> str:
    """``<p>phrase</p> {...}`` (the grounded-caption and detection answer form)."""
    return f'<p>{phrase}</p> {format_boxes(boxes)}'


# ------------------------------------------------------------------ reading
# A phrase, then optionally its box group; or a box group alone. A box group is
# one or more {...} joined by <delim> (inside or between the braces).
_PHRASE = r'<p>(?P<phrase>.*?)</p>'
_GROUP = r'\{[^{}]*\}(?:\s*<delim>\s*\{[^{}]*\})*'
_ITEM = re.compile(rf'{_PHRASE}(?:\s*(?P<phrase_boxes>{_GROUP}))?|(?P<boxes>{_GROUP})')
_BOX = re.compile(r'<(-?\d+)><(-?\d+)><(-?\d+)><(-?\d+)>')


def _read_group(group: str, image_size: Tuple[int, int],
                problems: List[str]) -> List[PixelBox]:
    """The pixel boxes of ``{...}<delim>{...}``; unreadable ones go to ``problems``."""
    width, height = image_size
    boxes = []
    for part in group.replace('{', '').replace('}', '').split(DELIM):
        text = re.sub(r'\s+', '', part)
        match = _BOX.fullmatch(text)
        if match is None:
            problems.append(f'malformed box {part.strip()!r} in {group!r}: expected '
                            '<x1><y1><x2><y2>')
            continue
        x1, y1, x2, y2 = (int(v) for v in match.groups())
        if not all(0 <= v <= BOX_GRID for v in (x1, y1, x2, y2)):
            problems.append(f'box {text!r} is outside the 0-{BOX_GRID} grid')
        elif x1 > x2 or y1 > y2:
            problems.append(f'box {text!r} has its corners reversed (x1 > x2 or y1 > y2)')
        else:
            boxes.append((x1 / BOX_GRID * width, y1 / BOX_GRID * height,
                          x2 / BOX_GRID * width, y2 / BOX_GRID * height))
    return boxes


def parse_grounded_text(text: str, image_size: Tuple[int, int]) -> GroundedAnswer:
    """Read an answer's phrases and boxes (in pixels of an image of ``(width, height)``).

    Every well-formed box is kept; a malformed one (not four integers), one
    outside the grid or with reversed corners, and an unfinished box at the end
    (generation cut off) are left out and described in ``problems``; nothing is
    clamped or raised. ``text`` is the answer without its markup.
    """
    phrases, problems, plain, position = [], [], [], 0
    for match in _ITEM.finditer(text):
        plain.append(text[position:match.start()])
        position = match.end()
        group = match.group('phrase_boxes') or match.group('boxes')
        boxes = _read_group(group, image_size, problems) if group else []
        if match.group('phrase') is not None:
            phrase = match.group('phrase').strip()
            plain.append(phrase)
            phrases.append(Phrase(phrase, boxes))
        elif boxes:
            phrases.append(Phrase(None, boxes))
    rest = text[position:]
    if '{' in rest:
        unfinished = rest[rest.index('{'):]
        problems.append(f'unfinished box {unfinished!r} at the end of the answer')
        rest = rest[:rest.index('{')]
    plain.append(rest)
    return GroundedAnswer(re.sub(r'\s+', ' ', ''.join(plain)).strip(), phrases, problems)
