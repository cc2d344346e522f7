"""Checkpoints are read with torch's safe unpickler: a file never runs code.

Every checkpoint file loaded in a process that imported the plugin goes through
:func:`load_checkpoint_file`: MMEngine's local loader (Runner ``resume``,
``load_from``, ``init_cfg`` ``Pretrained``, ``get_model``/the inferencers/
``Chat``, ``tools/test.py``), the converters and the LoRA merge. It calls
``torch.load(weights_only=True)`` with an allow-list of exactly what MMEngine
Runner checkpoints hold besides tensors and plain values: the message hub's
``HistoryBuffer``, numpy arrays, dtypes and scalars, and the four
``HistoryBuffer`` statistics, pickled as ``getattr(HistoryBuffer, name)``
(``getattr`` is allowed for nothing else). Converted plugin checkpoints hold
only tensors and plain values.

The allow-list is in force only while this loader reads a file: other
``torch.load`` calls in the process keep torch's own rules.

A file that needs any other global is refused with
:class:`UnsafeCheckpointError`, naming the file and the globals. A file the user
trusts is unpickled fully only when listed, knowingly, in
``$MINIGPT4_TRUSTED_CHECKPOINTS`` (paths separated by ``os.pathsep``).
"""
import functools
import os
import os.path as osp
import pickle
import re
import threading
import weakref
import zipfile
from typing import Callable, Dict, List, Mapping, Optional, Set, Tuple

import numpy as np
import torch
from mmengine.logging.history_buffer import HistoryBuffer

TRUSTED_CHECKPOINTS_VARIABLE = 'MINIGPT4_TRUSTED_CHECKPOINTS'
HISTORY_BUFFER_STATISTICS = ('min', 'max', 'current', 'mean')
# Every numpy dtype a message-hub array or scalar can have (object arrays excluded).
_NUMPY_DTYPE_CODES = '?bBhHiIlLqQefdgFDGSU'
_LOAD_LOCK = threading.Lock()
# Tensor -> the file it was read from, so a model checking weights it is given
# can name their file (MMEngine rebuilds the state dict, but keeps its tensors).
# Keyed by id (tensors compare elementwise) and held weakly.
_TENSOR_SOURCES: Dict[int, Tuple[weakref.ref, str]] = {}
# The file this thread loaded last: names a state dict without tensors to match
# (empty, or an unconverted file whose tensors sit one level deeper).
_RECENT = threading.local()
# How torch's weights-only unpickler names what it refused.
_REFUSED_GLOBAL = re.compile(r'GLOBAL ([\w.]+)')
_REFUSAL_MARKERS = ('GLOBAL', 'global', 'reduce', 'Can only build')


class CheckpointError(ValueError):
    """A checkpoint file cannot be used; the message names the file."""


class UnsafeCheckpointError(CheckpointError, pickle.UnpicklingError):
    """Unpickling the file would call code outside the allow-list."""


class UnreadableCheckpointError(CheckpointError):
    """The file is not a (complete) torch checkpoint."""


def history_buffer_statistic(owner, name: str) -> Callable:
    """The only ``getattr`` a Runner checkpoint needs: a ``HistoryBuffer`` statistic method.

    Raises:
        pickle.UnpicklingError: For any other object or attribute.
    """
    if owner is HistoryBuffer and name in HISTORY_BUFFER_STATISTICS:
        return getattr(HistoryBuffer, name)
    raise pickle.UnpicklingError(
        f'getattr({owner!r}, {name!r}) is not allowed: only HistoryBuffer statistics '
        f'{HISTORY_BUFFER_STATISTICS} are.')


def runner_checkpoint_globals() -> list:
    """The allow-list: globals of MMEngine Runner checkpoints, as ``torch.serialization`` takes them."""
    multiarray = np._core.multiarray if hasattr(np, '_core') else np.core.multiarray
    allowed = [HistoryBuffer, np.ndarray, np.dtype,
               (history_buffer_statistic, 'builtins.getattr')]
    # numpy 2 pickles numpy._core.*, numpy 1 numpy.core.*: files of either load.
    for module in ('numpy._core.multiarray', 'numpy.core.multiarray'):
        allowed += [(multiarray._reconstruct, f'{module}._reconstruct'),
                    (multiarray.scalar, f'{module}.scalar')]
    allowed += sorted({type(np.dtype(code)) for code in _NUMPY_DTYPE_CODES}, key=str)
    return allowed


def _allowed_names(allowed: list) -> Set[str]:
    return {entry[1] if isinstance(entry, tuple) else f'{entry.__module__}.{entry.__qualname__}'
            for entry in allowed}


def trusted_checkpoint_files() -> Set[str]:
    """Real paths listed in ``$MINIGPT4_TRUSTED_CHECKPOINTS``."""
    listed = os.environ.get(TRUSTED_CHECKPOINTS_VARIABLE, '')
    return {osp.realpath(osp.expanduser(p)) for p in listed.split(os.pathsep) if p.strip()}


def _unsafe_globals(path: str, allowed: list, error: Exception) -> List[str]:
    """Globals the file needs beyond ``allowed``: read from the zip without unpickling,
    else (legacy format) the one torch's error names; [] if none."""
    try:
        needed = torch.serialization.get_unsafe_globals_in_checkpoint(path)
    except Exception:  # noqa: BLE001  (legacy or damaged files)
        needed = _REFUSED_GLOBAL.findall(str(error))
    return sorted(set(needed) - _allowed_names(allowed))


def _safe_load(path: str, map_location, mmap: bool, allowed: list):
    # Only entries not already allowed are added, so leaving never removes a
    # global the program itself allowed; the lock keeps concurrent loads apart.
    with _LOAD_LOCK:
        added = [entry for entry in allowed if entry not in torch.serialization.get_safe_globals()]
        with torch.serialization.safe_globals(added):
            return torch.load(path, map_location=map_location, mmap=mmap, weights_only=True)


def load_checkpoint_file(path: str, map_location=None, mmap: Optional[bool] = None,
                         setting: Optional[str] = None):
    """Load a checkpoint file with the safe unpickler and the Runner allow-list.

    Args:
        path (str): The file.
        map_location: As ``torch.load``.
        mmap (bool, optional): Memory-map the tensors (zip-format files only).
            Defaults to: when the file allows it.
        setting (str, optional): The option or config key that named the file
            (e.g. ``'--eva-vit'``, ``'load_from'``), for messages.

    Returns:
        The unpickled object (usually a dict).

    Raises:
        FileNotFoundError: If ``path`` is not a file.
        UnsafeCheckpointError: If the file needs globals beyond the allow-list
            and is not in ``$MINIGPT4_TRUSTED_CHECKPOINTS``.
        UnreadableCheckpointError: If the file is empty, truncated or not a
            torch checkpoint.
    """
    named = f'{setting}: ' if setting else ''
    path = osp.expanduser(path)
    if not osp.isfile(path):
        raise FileNotFoundError(f'{named}checkpoint file not found: {path!r}')
    if osp.getsize(path) == 0:
        raise UnreadableCheckpointError(f'{named}{path} is empty (0 bytes): not a checkpoint.')
    is_zip = zipfile.is_zipfile(path)
    mmap = is_zip if mmap is None else (mmap and is_zip)
    allowed = runner_checkpoint_globals()
    try:
        return _remember_source(_safe_load(path, map_location, mmap, allowed), path)
    except pickle.UnpicklingError as error:
        unsafe = _unsafe_globals(path, allowed, error)
        if not (unsafe or any(marker in str(error) for marker in _REFUSAL_MARKERS)):
            raise UnreadableCheckpointError(
                f'{named}{path} cannot be read as a torch checkpoint: {_first_line(error)}') from None
        if osp.realpath(path) in trusted_checkpoint_files():
            return _remember_source(
                torch.load(path, map_location=map_location, mmap=mmap, weights_only=False), path)
        needs = (f'it needs {", ".join(unsafe)}' if unsafe else _first_line(error))
        raise UnsafeCheckpointError(
            f'{named}{path} was not loaded: unpickling it could run code ({needs}, beyond '
            'what MMEngine Runner checkpoints and converted MiniGPT-4 weights hold). If you '
            f'trust this file and its source, allow it knowingly: '
            f'{TRUSTED_CHECKPOINTS_VARIABLE}={path}') from None
    except (RuntimeError, OSError, EOFError, ValueError, zipfile.BadZipFile) as error:
        raise UnreadableCheckpointError(
            f'{named}{path} cannot be read as a torch checkpoint ({type(error).__name__}: '
            f'{_first_line(error)}); is it complete (an interrupted download or save)?') from None


def _remember_source(checkpoint, path: str):
    """Note ``path`` as the file of the tensors of ``checkpoint`` (and its ``state_dict``)."""
    _RECENT.path = path
    if isinstance(checkpoint, Mapping):
        state_dict = checkpoint.get('state_dict')
        nested = state_dict.values() if isinstance(state_dict, Mapping) else ()
        for value in [*checkpoint.values(), *nested]:
            if isinstance(value, torch.Tensor):
                key = id(value)
                _TENSOR_SOURCES[key] = (weakref.ref(value, functools.partial(_forget, key)), path)
    return checkpoint


def _forget(key: int, reference: weakref.ref) -> None:
    if _TENSOR_SOURCES.get(key, (None, None))[0] is reference:
        del _TENSOR_SOURCES[key]


def checkpoint_source(state_dict: Mapping) -> Optional[str]:
    """The file(s) :func:`load_checkpoint_file` read ``state_dict``'s tensors from, else the
    file this thread loaded last (once), else None."""
    files = []
    for value in state_dict.values():
        reference, path = _TENSOR_SOURCES.get(id(value), (None, None))
        if reference is not None and reference() is value and path not in files:
            files.append(path)
    recent, _RECENT.path = getattr(_RECENT, 'path', None), None
    return ' and '.join(files) or recent


def _first_line(error: Exception) -> str:
    lines = [line for line in str(error).splitlines() if line.strip()]
    # torch's weights-only message starts with a paragraph about its defaults.
    useful = [line for line in lines if 'WeightsUnpickler error' not in line
              and 'In PyTorch 2.6' not in line and 'Please file an issue' not in line]
    return (useful or lines or [type(error).__name__])[0].strip()


def load_from_local(filename: str, map_location=None):
    """MMEngine's local checkpoint loader (scheme ``''``), through :func:`load_checkpoint_file`."""
    return load_checkpoint_file(filename, map_location=map_location, mmap=False)


def use_safe_checkpoint_loading() -> None:
    """Make MMEngine's ``CheckpointLoader`` read local files with :func:`load_from_local`."""
    from mmengine.runner.checkpoint import CheckpointLoader
    CheckpointLoader.register_scheme(prefixes='', loader=load_from_local, force=True)
