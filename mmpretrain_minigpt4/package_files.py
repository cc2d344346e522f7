"""Paths to data files shipped inside installed Python distributions (ours and others)."""
import importlib.metadata
import os.path as osp

PACKAGE_SCHEME = 'pkg://'

# OpenMMLab's ``.mim`` layout: ``configs/`` and ``model-index.yml`` inside the
# installed package (copied by setup.py into wheels; symbolic links to the
# repository's own in a source checkout), so that the ModelHub names and
# ``mmpretrain_minigpt4::`` config bases work however the plugin is installed.
SHIPPED_ROOT = osp.join(osp.dirname(osp.abspath(__file__)), '.mim')
CONFIG_SCOPE = 'mmpretrain_minigpt4'


def register_config_scope() -> None:
    """Let configs inherit ours: ``_base_ = ['mmpretrain_minigpt4::minigpt4/<config>.py']``.

    mmengine resolves ``<package>::<path>`` to ``<package>/.mim/configs/<path>``
    for the packages it lists; this adds the plugin to that list.
    """
    from mmengine.config.utils import MODULE2PACKAGE
    MODULE2PACKAGE[CONFIG_SCOPE] = CONFIG_SCOPE


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
