"""Paths to data files shipped inside installed Python distributions."""
import importlib.metadata
import os.path as osp

PACKAGE_SCHEME = 'pkg://'


def resolve_package_path(path: str) -> str:
    """Expand ``pkg://<distribution>/<file>`` to the file's path on this machine.

    Other paths are returned unchanged. Configs use this to point at files that
    packages ship (e.g. the Llama-2 tokenizer inside ``wordllama``) without
    copying them into this repository.

    Raises:
        FileNotFoundError: If the distribution is not installed or lacks the file.
    """
    if not path.startswith(PACKAGE_SCHEME):
        return path
    distribution, _, relative = path[len(PACKAGE_SCHEME):].partition('/')
    try:
        located = str(importlib.metadata.distribution(distribution).locate_file(relative))
    except importlib.metadata.PackageNotFoundError:
        raise FileNotFoundError(f'{path!r} needs the Python package {distribution!r}: '
                                f'pip install {distribution}') from None
    if not osp.exists(located):
        raise FileNotFoundError(f'{path!r}: package {distribution!r} has no file {relative!r}.')
    return located
