"""Small, named fixes that make mmpretrain 1.2 / mmengine 0.10.7 work on today's stack.

Each fix is idempotent, does nothing where the stack is already fine, and is
applied once by :func:`apply_compat_fixes` when ``mmpretrain_minigpt4`` is
imported (before anything imports ``mmpretrain.models``).

==================================  ==================================================
fix                                 breakage it removes
==================================  ==================================================
``define_torchvision_op_schemas``   PyPI's torchvision is a CUDA build; on a CPU-only
                                    torch its ops cannot load and ``import torchvision``
                                    (so ``import mmpretrain``/``timm``) raises
                                    ``RuntimeError: operator torchvision::nms does not
                                    exist``.
``alias_transformers_helpers``      transformers >= 4.56 moved/removed helpers that
                                    ``mmpretrain.models`` imports from
                                    ``transformers.modeling_utils``:
                                    ``TypeError: NoneType takes no arguments``.
``use_importlib_package_lookups``   mmengine finds packages (``mmpretrain::`` config
                                    bases) with ``pkg_resources``, which setuptools >= 82
                                    removed (``ModuleNotFoundError: No module named
                                    'pkg_resources'``), and which points editable
                                    (PEP 660) installs at a non-existent folder.
``quiet_mmcv_lite_ops_warning``     mmcv-lite (no compiled ops, by design) warns at
                                    every ``import mmpretrain.models`` that
                                    ``MultiScaleDeformableAttention`` cannot load; no
                                    MiniGPT-4 part uses it (noise before every log).
``quiet_bitsandbytes_kernel_hint``  bitsandbytes >= 0.49 on an AVX512-bf16 CPU tries to
                                    fetch a 4-bit kernel from the Hugging Face hub at
                                    import (peft imports it) and, offline, logs
                                    ``Failed to load CPU gemm_4bit_forward`` in every
                                    process; its own torch fallback is used.
==================================  ==================================================
"""
import importlib.metadata
import importlib.util
import logging
import os.path as osp
import re
import warnings

import torch


def define_torchvision_op_schemas() -> bool:
    """Declare torchvision's ``nms``/``qnms`` schemas when its ops cannot load.

    torchvision registers fake kernels for these two ops at import time without
    checking that its compiled library loaded. A CUDA torchvision wheel next to a
    CPU-only torch (the only torchvision PyPI has) cannot load that library.
    Declaring the schemas lets the pure-Python parts (transforms) import; the
    compiled ops stay unavailable, exactly as torchvision reports.

    Returns:
        bool: Whether the schemas were declared.
    """
    spec = importlib.util.find_spec('torchvision')
    if spec is None or not spec.submodule_search_locations:
        return False
    version_file = osp.join(spec.submodule_search_locations[0], 'version.py')
    if not osp.isfile(version_file):
        return False
    with open(version_file, encoding='utf-8') as f:
        match = re.search(r"^__version__\s*=\s*'([^']+)'", f.read(), re.MULTILINE)
    built_for_cuda = match is not None and '+cu' in match.group(1)
    if not built_for_cuda or torch.version.cuda is not None:
        return False
    if hasattr(torch.ops.torchvision, 'nms'):
        return False
    library = torch.library.Library('torchvision', 'DEF')
    for op in ('nms', 'qnms'):
        library.define(f'{op}(Tensor dets, Tensor scores, float iou_threshold) -> Tensor')
    # Keep the library object alive: dropping it would unregister the schemas.
    define_torchvision_op_schemas.library = library
    return True


def _find_pruneable_heads_and_indices(heads, n_heads, head_size, already_pruned_heads):
    """transformers' helper (removed in 5.x): heads to prune and kept indices."""
    mask = torch.ones(n_heads, head_size)
    heads = set(heads) - already_pruned_heads
    for head in heads:
        head = head - sum(1 if h < head else 0 for h in already_pruned_heads)
        mask[head] = 0
    mask = mask.view(-1).contiguous().eq(1)
    index = torch.arange(len(mask))[mask].long()
    return heads, index


def alias_transformers_helpers() -> list:
    """Put back the names ``mmpretrain.models`` imports from ``transformers.modeling_utils``.

    Returns:
        list[str]: The names that were missing and are now aliased.
    """
    import transformers
    import transformers.modeling_utils as modeling_utils
    import transformers.pytorch_utils as pytorch_utils

    sources = {
        'apply_chunking_to_forward': getattr(pytorch_utils, 'apply_chunking_to_forward', None),
        'prune_linear_layer': getattr(pytorch_utils, 'prune_linear_layer', None),
        'find_pruneable_heads_and_indices': getattr(
            pytorch_utils, 'find_pruneable_heads_and_indices', _find_pruneable_heads_and_indices),
        'GenerationConfig': transformers.GenerationConfig,
        'GenerationMixin': transformers.GenerationMixin,
        'PretrainedConfig': transformers.PretrainedConfig,
    }
    aliased = []
    for name, value in sources.items():
        if not hasattr(modeling_utils, name) and value is not None:
            setattr(modeling_utils, name, value)
            aliased.append(name)
    return aliased


def _distribution_module_path(package: str):
    """Existing install folder of distribution ``package`` from importlib metadata, or None."""
    try:
        dist = importlib.metadata.distribution(package)
    except importlib.metadata.PackageNotFoundError:
        return None
    location = osp.abspath(str(dist.locate_file('')))
    top_level = dist.read_text('top_level.txt')
    modules = [package, package.replace('-', '_')] + (top_level.split() if top_level else [])
    for module in modules:
        if osp.isdir(osp.join(location, module)):
            return osp.join(location, module)
    return None


def _spec_path(package: str):
    """Folder of importable module ``package`` (editable installs, PYTHONPATH), or None."""
    try:
        spec = importlib.util.find_spec(package.replace('-', '_'))
    except (ImportError, ValueError):
        return None
    if spec is None or spec.origin is None:
        return None
    return osp.dirname(spec.origin)


def is_installed(package: str) -> bool:
    """mmengine's ``is_installed`` on importlib.metadata instead of pkg_resources."""
    return _distribution_module_path(package) is not None or _spec_path(package) is not None


def get_installed_path(package: str) -> str:
    """mmengine's ``get_installed_path`` on importlib.metadata instead of pkg_resources."""
    path = _distribution_module_path(package) or _spec_path(package)
    if path is None:
        raise importlib.metadata.PackageNotFoundError(package)
    return path


def use_importlib_package_lookups() -> None:
    """Point mmengine's package lookups at :func:`is_installed` / :func:`get_installed_path`."""
    import mmengine.config.config as config_module
    import mmengine.hub.hub as hub_module
    import mmengine.utils as utils_module
    import mmengine.utils.package_utils as package_utils
    for module in (package_utils, utils_module, config_module, hub_module):
        module.is_installed = is_installed
        module.get_installed_path = get_installed_path


def quiet_mmcv_lite_ops_warning() -> None:
    """Ignore mmcv's warning about the compiled op that mmcv-lite lacks."""
    warnings.filterwarnings(
        'ignore', message=r'Fail to import ``MultiScaleDeformableAttention``',
        category=UserWarning, module=r'mmcv\.cnn\.bricks\.transformer')


class _DropMessage(logging.Filter):
    """Drops the log records whose message starts with ``prefix``."""

    def __init__(self, prefix: str):
        super().__init__()
        self.prefix = prefix

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith(self.prefix)


def quiet_bitsandbytes_kernel_hint() -> None:
    """Drop bitsandbytes' hint about its hub kernel for 4-bit CPU matmuls (nothing here
    downloads; its torch fallback computes the same)."""
    logger = logging.getLogger('bitsandbytes.backends.cpu.ops')
    if not any(isinstance(f, _DropMessage) for f in logger.filters):
        logger.addFilter(_DropMessage('Failed to load CPU gemm_4bit_forward'))


def apply_compat_fixes() -> None:
    """Apply every fix in this module (safe to call more than once)."""
    # First: the other fixes import mmengine, whose optimizer registry imports bitsandbytes.
    quiet_bitsandbytes_kernel_hint()
    define_torchvision_op_schemas()
    alias_transformers_helpers()
    use_importlib_package_lookups()
    quiet_mmcv_lite_ops_warning()
