"""Import ``mmpretrain_minigpt4`` right after ``mmpretrain.apis``, without an explicit import.

Installed as ``mmpretrain_minigpt4_autoload.pth`` in site-packages, whose one
line imports this module at interpreter start-up. It only adds an import
finder (no torch, no mmpretrain at start-up); when a program imports
``mmpretrain`` (``from mmpretrain import inference_model``), the plugin is
imported as soon as ``mmpretrain.apis`` has run, so its model names and its
``inference_model`` are in place before the program gets mmpretrain's API.
"""
import importlib.abc
import sys
import warnings

TRIGGER = 'mmpretrain.apis'
PLUGIN = 'mmpretrain_minigpt4'


class PluginAutoloader(importlib.abc.MetaPathFinder):
    """One-shot finder: lets the real finder load ``mmpretrain.apis``, then imports the plugin."""

    def find_spec(self, fullname, path, target=None):
        if fullname != TRIGGER:
            return None
        sys.meta_path.remove(self)
        for finder in sys.meta_path:
            spec = finder.find_spec(fullname, path, target)
            if spec is not None:
                break
        else:
            return None
        exec_module = spec.loader.exec_module

        def exec_then_import_plugin(module):
            exec_module(module)
            try:
                __import__(PLUGIN)
            except Exception as error:  # noqa: BLE001  (never break plain mmpretrain)
                warnings.warn(f'{PLUGIN} was not loaded automatically: {error!r}. '
                              f'`import {PLUGIN}` shows the full error.')

        spec.loader.exec_module = exec_then_import_plugin
        return spec


def install() -> None:
    """Add the finder (once)."""
    if not any(isinstance(finder, PluginAutoloader) for finder in sys.meta_path):
        sys.meta_path.insert(0, PluginAutoloader())


install()
