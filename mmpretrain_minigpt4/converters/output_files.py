"""Writing a converter's output so that neither an input nor an existing output is damaged.

The output is written to a temporary sibling (``<out>.partial-<random>``) and
renamed into place only when complete, so an error or an interruption leaves no
half-written output and the previous one untouched. An output that is one of the
inputs is refused before any work: the inputs are memory-mapped while they are
read, and overwriting one in place truncates it (the process dies of SIGBUS).
"""
import contextlib
import os
import os.path as osp
import shutil
import uuid
from typing import Iterator, Mapping, Optional


class UnsafeOutputError(ValueError):
    """The output would overwrite an input, or an existing output without ``--force``."""


def _is_same_path(a: str, b: str) -> bool:
    """One file or directory, through symlinks and hard links (``b`` exists)."""
    return osp.realpath(a) == osp.realpath(b) or (osp.exists(a) and osp.samefile(a, b))


def _is_inside(path: str, directory: str) -> bool:
    real_path, real_directory = osp.realpath(path), osp.realpath(directory)
    return osp.commonpath([real_path, real_directory]) == real_directory


def check_output_path(out: str, inputs: Mapping[str, Optional[str]], force: bool,
                      directory: bool = False) -> None:
    """Refuse an output that would destroy data, before anything is read or written.

    Args:
        out (str): The output file or directory (``--out``).
        inputs (Mapping[str, str | None]): Option name -> input path; unset
            (None) and missing inputs are skipped.
        force (bool): Replace an existing output (``--force``); an input is
            never replaced.
        directory (bool): The output is a directory (else a file). Defaults
            to False.

    Raises:
        UnsafeOutputError: If ``out`` is an input, lies inside an input
            directory or holds an input, exists and ``force`` is False, or
            exists as the other kind (a directory for a file, or a file for a
            directory).
    """
    for option, path in inputs.items():
        if path is None or not osp.exists(path):
            continue
        if _is_same_path(out, path):
            raise UnsafeOutputError(f'--out {out} is the {option} input: choose another output '
                                    '(an input is never overwritten, even with --force).')
        if osp.isdir(path) and _is_inside(out, path):
            raise UnsafeOutputError(f'--out {out} lies inside the {option} directory {path}: '
                                    'choose an output outside the inputs.')
        if osp.isdir(out) and _is_inside(path, out):
            raise UnsafeOutputError(f'--out {out} holds the {option} input {path}: replacing '
                                    'it would delete the input; choose another output.')
    _refuse_existing(out, force)
    if osp.exists(out) and osp.isdir(out) != directory:
        kind, wanted = ('a directory', 'a file') if osp.isdir(out) else ('a file', 'a directory')
        raise UnsafeOutputError(f'--out {out} is {kind}, but the output is {wanted}: choose '
                                'another path.')


def _refuse_existing(out: str, force: bool) -> None:
    if osp.lexists(out) and not force:
        raise UnsafeOutputError(f'--out {out} exists: pass --force to replace it.')


@contextlib.contextmanager
def atomic_output(out: str, directory: bool = False, force: bool = False) -> Iterator[str]:
    """A temporary path next to ``out`` to write to, renamed to ``out`` when the block succeeds.

    On an exception (``KeyboardInterrupt`` included) the temporary file or
    directory is deleted and ``out`` is left as it was. Parent directories are
    created.

    Args:
        out (str): The output file or directory.
        directory (bool): Yield a (created, empty) directory instead of a
            file path. Defaults to False.
        force (bool): Replace an ``out`` that exists by then. Defaults to False.

    Yields:
        str: The temporary path.

    Raises:
        UnsafeOutputError: If ``out`` appeared meanwhile and ``force`` is False.
    """
    out = osp.abspath(out)
    os.makedirs(osp.dirname(out), exist_ok=True)
    partial = f'{out}.partial-{uuid.uuid4().hex[:8]}'
    if directory:
        os.mkdir(partial)
    try:
        yield partial
        _refuse_existing(out, force)
        if directory and osp.isdir(out) and not osp.islink(out):
            # A non-empty directory cannot be replaced in one rename: move it aside first.
            replaced = f'{out}.replaced-{uuid.uuid4().hex[:8]}'
            os.rename(out, replaced)
            os.rename(partial, out)
            shutil.rmtree(replaced)
        else:
            os.replace(partial, out)
    finally:
        if osp.isdir(partial) and not osp.islink(partial):
            shutil.rmtree(partial)
        elif osp.lexists(partial):
            os.remove(partial)
