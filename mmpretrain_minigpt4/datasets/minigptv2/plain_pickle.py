"""Pickle files of plain data (RefCOCO's ``refs(unc).p``), read without running code.

A pickle can name any importable callable (``os.system``, ...) and have the
unpickler call it. The annotation pickles of RefCOCO/+/g hold only lists,
dicts, strings and numbers, which unpickle without naming any global, so the
unpickler here refuses every global: a malicious file fails before anything
of it runs.
"""
import io
import pickle
from typing import Any

from mmengine.fileio import get

from ..annotation_files import AnnotationFileError


class _PlainDataUnpickler(pickle.Unpickler):
    """An unpickler that builds containers, strings and numbers and nothing else."""

    def __init__(self, data: bytes, path: str):
        super().__init__(io.BytesIO(data))
        self.path = path

    def find_class(self, module: str, name: str):
        raise AnnotationFileError(
            self.path, f'refused to unpickle: the file refers to the global {module}.{name}; '
            'only plain data (lists, dicts, tuples, strings, numbers, booleans, None) is read, '
            'since unpickling a global could run code')


def load_plain_pickle(path: str) -> Any:
    """The content of a pickle file that holds plain data only.

    Raises:
        AnnotationFileError: If the file is empty, is not a pickle, or refers to
            any global (a class or function), naming the file (and the global).
    """
    data = get(path)  # local files and MMEngine's other storage backends alike
    if not data:
        raise AnnotationFileError(path, 'empty file (expected a pickle)')
    try:
        return _PlainDataUnpickler(data, path).load()
    except AnnotationFileError:
        raise
    except Exception as error:  # noqa: BLE001  damaged bytes raise many kinds of errors
        raise AnnotationFileError(
            path, f'not a readable pickle ({type(error).__name__}: {error})') from None
