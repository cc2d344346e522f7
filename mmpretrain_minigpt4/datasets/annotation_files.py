"""Reading JSON and JSON-lines annotation files, with errors that say where the file is wrong.

``json`` and ``mmengine.load`` report a syntax error without the file's name,
and a missing field surfaces as a bare ``KeyError``; here every error names the
file and the position: ``file:line:column`` for syntax, a JSON path such as
``annotations[3]`` or ``["201000001"]`` (or the line, in JSON lines) for the
structure.
"""
import json
from typing import Any, Iterable, List, Sized, Tuple, Union

from mmengine.fileio import get


class AnnotationFileError(ValueError):
    """An annotation file that cannot be used: not JSON, a wrong structure, no entries.

    Args:
        path (str): The file.
        reason (str): What is wrong.
        where (str, optional): The position, e.g. ``'3:17'`` (line:column),
            ``'annotations[3]'``. Defaults to ''.
    """

    def __init__(self, path: str, reason: str, where: str = ''):
        self.path, self.reason, self.where = path, reason, where
        separator = ':' if where[:1].isdigit() else ': '
        super().__init__(f'{path}{separator}{where}: {reason}' if where else f'{path}: {reason}')


def _read_text(path: str) -> str:
    data = get(path)  # local files and MMEngine's other storage backends alike
    try:
        return data.decode('utf-8-sig')  # a byte order mark is not JSON, but harmless
    except UnicodeDecodeError as error:
        line = data.count(b'\n', 0, error.start) + 1
        raise AnnotationFileError(path, f'not UTF-8 (byte {error.start})', str(line)) from None


def _parse(text: str, path: str, first_line: int = 1) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise AnnotationFileError(path, f'invalid JSON: {error.msg}',
                                  f'{first_line + error.lineno - 1}:{error.colno}') from None


def load_json(path: str) -> Any:
    """The content of a JSON file.

    Raises:
        AnnotationFileError: If it is not UTF-8 or not JSON (naming the line
            and column).
    """
    return _parse(_read_text(path), path)


def load_json_lines(path: str) -> List[Tuple[int, Any]]:
    """``(line number, value)`` of every non-blank line of a JSON-lines file.

    Raises:
        AnnotationFileError: If a line is not JSON (naming the line and column).
    """
    return [(number, _parse(line, path, first_line=number))
            for number, line in enumerate(_read_text(path).splitlines(), 1) if line.strip()]


def json_path(*steps: Union[int, str]) -> str:
    """Where a value is in a JSON document, as in JavaScript: ``json_path('annotations', 3)``
    -> ``'annotations[3]'``, ``json_path(2, 'answers', 0)`` -> ``'[2].answers[0]'``,
    ``json_path('201000001')`` -> ``'["201000001"]'``."""
    parts = []
    for step in steps:
        if isinstance(step, int):
            parts.append(f'[{step}]')
        elif step.isidentifier():
            parts.append(f'.{step}' if parts else step)
        else:
            parts.append(f'[{json.dumps(step)}]')
    return ''.join(parts)


def expect_type(value: Any, expected: Union[type, Tuple[type, ...]], path: str, where: str,
                description: str) -> Any:
    """``value`` if it is an ``expected``, else :class:`AnnotationFileError`.

    Args:
        description (str): What was expected, e.g. ``'a list'``.
    """
    if not isinstance(value, expected):
        raise AnnotationFileError(path, f'expected {description}, got {type(value).__name__}',
                                  where)
    return value


def expect_fields(entry: Any, fields: Iterable[str], path: str, where: str) -> dict:
    """``entry`` if it is a JSON object with every one of ``fields``, else
    :class:`AnnotationFileError` naming the missing ones."""
    fields = list(fields)
    expect_type(entry, dict, path, where, f'an object with {_quoted(fields)}')
    missing = [field for field in fields if field not in entry]
    if missing:
        raise AnnotationFileError(
            path, f'missing field{"s" * (len(missing) > 1)} {_quoted(missing)} '
                  f'(has {_quoted(entry) or "no field"})', where)
    return entry


def expect_entries(entries: Sized, path: str, description: str) -> Sized:
    """``entries`` if there is at least one, else :class:`AnnotationFileError`
    (an empty dataset would otherwise reach a sampler that never yields)."""
    if len(entries) == 0:
        raise AnnotationFileError(path, f'no {description}: the dataset would be empty')
    return entries


def _quoted(names: Iterable[str]) -> str:
    return ', '.join(json.dumps(name) for name in names)
