"""The plugin's model names in mmpretrain's ModelHub, with weights from local files.

``configs/minigpt4/metafile.yml`` lists the names. mmpretrain 1.2 already owns
``minigpt-4_vicuna-7b_caption`` (its own, download-only entry), and registering
a name twice raises, so the plugin first makes mmpretrain load its lazy index,
then replaces the clashing entries: the result is the same whatever was
imported first.

A ``Weights`` of the form ``'{{$VARIABLE:default}}'`` is read from the
environment when the model is looked up (mmengine's config syntax), so
``get_model(name, pretrained=True)``, the inferencers and ``inference_model``
all load the local file, or fail naming the file and the variable before
anything is built. Nothing is ever downloaded.
"""
import os
import os.path as osp
import re
from typing import Optional

from mmpretrain.apis import ModelHub
from modelindex.load_model_index import load
from modelindex.models.Model import Model

from ..package_files import SHIPPED_ROOT

MODEL_INDEX = osp.join(SHIPPED_ROOT, 'model-index.yml')

_ENVIRONMENT_PATH = re.compile(r'\{\{\$(\w+):?(.*)\}\}')


def resolve_environment_path(spec: Optional[str]) -> Optional[str]:
    """``'{{$VAR:default}}'`` -> ``$VAR``, else ``default`` (None if empty); others unchanged."""
    match = _ENVIRONMENT_PATH.fullmatch(spec or '')
    if match is None:
        return spec
    variable, default = match.groups()
    return os.environ.get(variable, default) or None


class LocalWeightsModel(Model):
    """A ModelHub entry whose ``weights`` is a local file named by an environment variable.

    Custom metafile fields used in error messages: ``Weights Source`` (how to
    get the checkpoint), ``LLM Variable`` and ``LLM Source`` (the LLM directory).
    """

    @property
    def weights(self) -> Optional[str]:
        """The checkpoint path now, or None for random weights (tiny test models).

        Raises:
            FileNotFoundError: If the file the entry names does not exist.
        """
        spec = self.data.get('Weights')
        path = resolve_environment_path(spec)
        if path is not None and not osp.isfile(path):
            variable = _ENVIRONMENT_PATH.fullmatch(spec or '')
            setting = (f'set ${variable.group(1)} to its path, or ' if variable else '')
            raise FileNotFoundError(
                f'Checkpoint of model {self.name!r} not found: {path!r}. Get '
                f'{self.data.get("Weights Source", "it")}; then {setting}pass '
                "pretrained='/path/to/checkpoint.pth' (or pretrained=False for random "
                'weights). See docs/inference.md.')
        return path

    def check_llm_directory(self, directory: Optional[str]) -> None:
        """Raise a FileNotFoundError naming the variable if the LLM directory is missing."""
        if directory is None or osp.isdir(osp.expanduser(directory)):
            return
        raise FileNotFoundError(
            f'LLM directory of model {self.name!r} not found: {directory!r}. Get '
            f'{self.data.get("LLM Source", "the LLM")} and set '
            f'${self.data.get("LLM Variable", "<see the config>")} to its directory, or pass '
            "llm=dict(name_or_path='/path/to/llm'). See docs/inference.md.")


def load_minigpt4_models(model_index: str = MODEL_INDEX) -> list:
    """The entries of the plugin's model index, config paths made absolute."""
    if not osp.isfile(model_index):
        raise FileNotFoundError(
            f'{model_index!r} not found: this installation of mmpretrain_minigpt4 lacks '
            'its model index and configs; reinstall it from the repository '
            '(`pip install .` or `pip install -e .`).')
    index = load(model_index)
    index.build_models_with_collections()
    models = []
    for metainfo in index.models:
        metainfo.__class__ = LocalWeightsModel
        metainfo.config = ModelHub._expand_config_path(metainfo, SHIPPED_ROOT)
        models.append(metainfo)
    return models


def register_minigpt4_models(model_index: str = MODEL_INDEX) -> None:
    """Put the plugin's names into ModelHub, replacing mmpretrain's same-named entries.

    Safe to call again (entries are replaced, never duplicated).
    """
    # mmpretrain registers its own index on the first lookup and raises on a
    # name that is already there: load it now so ours come last and win.
    ModelHub._register_mmpretrain_models()
    for metainfo in load_minigpt4_models(model_index):
        ModelHub._models_dict[metainfo.name.lower()] = metainfo


def is_minigpt4_model_name(name: str) -> bool:
    """Whether ``name`` is registered by this plugin (case-insensitive, as ModelHub)."""
    return isinstance(ModelHub._models_dict.get(name.lower()), LocalWeightsModel)
