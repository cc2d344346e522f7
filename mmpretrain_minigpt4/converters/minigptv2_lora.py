"""MiniGPT-v2's LoRA on the LLM (``q_proj`` / ``v_proj``) -> merged into its Hugging Face weights.

MiniGPT-v2 checkpoints hold ``llama_proj`` and, per LLM layer, LoRA factors
``llama_model.base_model.model.model.layers.{i}.self_attn.{q,v}_proj.lora_{A,B}.weight``
(peft 0.2.0, the official pin; peft >= 0.3 writes ``lora_A.default.weight``).
Merged, ``W' = W + alpha / r * B @ A`` gives the same outputs as the LoRA
forward (at inference, where LoRA dropout is off), so the plugin loads the
merged LLM as a plain Hugging Face directory. Kept, they become the plugin's
LoRA keys ``llm.<module>.lora_{A,B}.default.weight`` (see
:func:`convert_minigptv2_lora`).
"""
import os
import os.path as osp
import re
import shutil
from collections import defaultdict
from dataclasses import dataclass
from typing import Dict, List, Optional

import torch
from safetensors.torch import load_file, save_file
from tqdm import tqdm

from ..safe_checkpoint_loading import load_checkpoint_file
from .converted_weights import ConversionError, ConvertedWeights, KeyOrigin
from .output_files import atomic_output, check_output_path

LORA_KEY = re.compile(r'^llama_model\.base_model\.model\.(?P<module>.+)\.lora_(?P<factor>[AB])'
                      r'(?:\.default)?\.weight$')
PLUGIN_LORA_KEY = re.compile(r'^llm\.(?P<module>.+)\.lora_(?P<factor>[AB])\.default\.weight$')
# MiniGPT-v2's configs: lora_r 64, lora_alpha 16.
OFFICIAL_LORA_ALPHA = 16
_BIN_WEIGHTS = re.compile(r'^pytorch_model.*\.bin$')


@dataclass
class LoRAUpdate:
    """The update ``scale * up @ down`` of one linear weight.

    Attributes:
        down (Tensor): ``lora_A`` (r, in_features).
        up (Tensor): ``lora_B`` (out_features, r).
        scale (float): ``lora_alpha / r``.
        origin (str): The two file keys, for messages.
    """
    down: torch.Tensor
    up: torch.Tensor
    scale: float
    origin: str

    def delta(self) -> torch.Tensor:
        """(out_features, in_features) in fp32."""
        return self.scale * (self.up.float() @ self.down.float())


def match_lora_key(key: str, source: str) -> 're.Match':
    """The ``module`` and ``factor`` of an official LoRA key, in either peft spelling.

    Raises:
        ConversionError: For a LoRA key of another naming.
    """
    match = LORA_KEY.match(key)
    if match is None:
        raise ConversionError(
            f'{source}: {key!r} is not a LoRA weight of the LLM in a known naming '
            '(llama_model.base_model.model.<module>.lora_A[.default].weight).')
    return match


class LoRAKeyMapping:
    """Official LoRA keys (either peft spelling) <-> the plugin's. As the provider of
    :func:`convert_minigptv2_lora`'s weights, it names the official (peft 0.2.0) key
    of a LoRA factor the model misses."""

    def target_key(self, source_key: str, source: str) -> str:
        match = match_lora_key(source_key, source)
        return f'llm.{match["module"]}.lora_{match["factor"]}.default.weight'

    def source_key(self, target_key: str) -> Optional[str]:
        match = PLUGIN_LORA_KEY.match(target_key)
        if match is None:
            return None
        return f'llama_model.base_model.model.{match["module"]}.lora_{match["factor"]}.weight'


def convert_minigptv2_lora(state_dict: Dict[str, torch.Tensor], source: str) -> ConvertedWeights:
    """The LoRA factors of a MiniGPT-v2 checkpoint under the plugin's keys, kept as LoRA.

    ``llama_model.base_model.model.model.layers.{i}.self_attn.q_proj.lora_A[.default].weight``
    -> ``llm.model.layers.{i}.self_attn.q_proj.lora_A.default.weight``.
    Which factors the model expects, and their shapes, is checked against
    the configured model (``model.llm.lora``) by the caller.

    Args:
        state_dict: The checkpoint's ``'model'`` tensors; keys without
            ``.lora_`` are left to the other mappings.
        source (str): The file, for the report and errors.

    Returns:
        ConvertedWeights: One tensor per LoRA factor of the file.

    Raises:
        ConversionError: For a LoRA key of another naming, or a file with no
            LoRA factor at all.
    """
    mapping = LoRAKeyMapping()
    weights = ConvertedWeights(providers=[(source, mapping)])
    for key, tensor in state_dict.items():
        if '.lora_' in key:
            weights.add(mapping.target_key(key, source), tensor, KeyOrigin(source, key))
    if not weights.tensors:
        raise ConversionError(
            f'{source} has no LoRA weights of the LLM (llama_model.base_model.model.<module>'
            '.lora_A[.default].weight), but the LoRA is to be kept: is it a MiniGPT-v2 '
            'checkpoint (stage 2, stage 3 or the demo\'s)?')
    return weights


def lora_updates(state_dict: Dict[str, torch.Tensor], source: str,
                 lora_alpha: float = OFFICIAL_LORA_ALPHA) -> Dict[str, LoRAUpdate]:
    """The LoRA pairs of a MiniGPT-v2 checkpoint, keyed by the LLM weight they update.

    Args:
        state_dict: The checkpoint's ``'model'`` tensors.
        source (str): The file, for errors.
        lora_alpha (float): LoRA alpha; the rank comes from the tensors.
            Defaults to 16 (MiniGPT-v2).

    Returns:
        dict: Hugging Face key (``model.layers.{i}.self_attn.q_proj.weight``)
        -> :class:`LoRAUpdate`.

    Raises:
        ConversionError: For a LoRA key of another naming, a factor without its
            pair, or factors whose shapes do not chain.
    """
    factors = defaultdict(dict)
    for key, tensor in state_dict.items():
        if '.lora_' not in key:
            continue
        match = match_lora_key(key, source)
        factors[match['module']][match['factor']] = (key, tensor)
    updates = {}
    for module, pair in factors.items():
        if set(pair) != {'A', 'B'}:
            present, = pair
            raise ConversionError(f'{source}: {pair[present][0]!r} has no matching lora_'
                                  f'{"B" if present == "A" else "A"} factor.')
        (down_key, down), (up_key, up) = pair['A'], pair['B']
        if down.ndim != 2 or up.ndim != 2 or up.shape[1] != down.shape[0]:
            raise ConversionError(f'{source}: {down_key!r} {tuple(down.shape)} and {up_key!r} '
                                  f'{tuple(up.shape)} are not a LoRA pair (lora_B columns must '
                                  'equal lora_A rows).')
        updates[module + '.weight'] = LoRAUpdate(
            down, up, lora_alpha / down.shape[0], f'{down_key!r} and {up_key!r} of {source}')
    return updates


def _weight_files(llm_dir: str) -> List[str]:
    """The weight files transformers would load: safetensors if any, else ``pytorch_model*.bin``."""
    names = sorted(os.listdir(llm_dir))
    safetensors = [name for name in names if name.endswith('.safetensors')]
    return safetensors or [name for name in names if _BIN_WEIGHTS.match(name)]


def merge_lora_into_llm(llm_dir: str, updates: Dict[str, LoRAUpdate], out_dir: str,
                        force: bool = False) -> List[str]:
    """Write a copy of a Hugging Face LLM directory with the LoRA updates merged.

    One weight file is in memory at a time. Weights are updated in fp32 and
    stored in their own dtype; every other file (config, tokenizer, index) is
    copied. If the directory has both safetensors and ``.bin`` weights, only
    the safetensors (what transformers loads) are written. The copy is written
    next to ``out_dir`` and renamed to it when complete: an error leaves no
    ``out_dir`` (and an existing one as it was).

    Args:
        llm_dir (str): The base LLM (e.g. ``Llama-2-7b-chat-hf``).
        updates (dict): From :func:`lora_updates`.
        out_dir (str): The merged LLM's directory (not ``llm_dir`` nor inside it).
        force (bool): Replace an existing ``out_dir``. Defaults to False.

    Returns:
        list[str]: The merged keys.

    Raises:
        FileNotFoundError: If ``llm_dir`` has no weights.
        ConversionError: If a LoRA target is not in the LLM or has another shape.
        UnsafeOutputError: If ``out_dir`` is or lies inside ``llm_dir``, or
            exists and ``force`` is False.
    """
    if not osp.isdir(llm_dir):
        raise FileNotFoundError(f'--llm: LLM directory not found: {llm_dir!r}')
    weight_files = _weight_files(llm_dir)
    if not weight_files:
        raise FileNotFoundError(f'--llm: {llm_dir} has no *.safetensors or pytorch_model*.bin.')
    check_output_path(out_dir, {'--llm': llm_dir}, force, directory=True)
    with atomic_output(out_dir, directory=True, force=force) as partial_dir:
        _write_merged_llm(llm_dir, weight_files, updates, partial_dir)
    return sorted(updates)


def _write_merged_llm(llm_dir: str, weight_files: List[str], updates: Dict[str, LoRAUpdate],
                      out_dir: str) -> None:
    """Fill the empty ``out_dir``: see :func:`merge_lora_into_llm`."""
    safetensors = weight_files[0].endswith('.safetensors')
    for name in os.listdir(llm_dir):
        skipped = name.endswith('.safetensors') or _BIN_WEIGHTS.match(name) or (
            safetensors and name == 'pytorch_model.bin.index.json')
        if not skipped and osp.isfile(osp.join(llm_dir, name)):
            shutil.copy2(osp.join(llm_dir, name), osp.join(out_dir, name))

    remaining = dict(updates)
    # A checkpoint with LoRA on some q_proj but not all is truncated or of
    # another model: every layer's weight of each adapted kind must be updated.
    adapted_kinds = {_layer_kind(key) for key in updates}
    not_adapted = []
    for name in tqdm(weight_files, desc='Merging LoRA into the LLM', unit='file'):
        path = osp.join(llm_dir, name)
        if safetensors:
            tensors = load_file(path)
        else:
            tensors = load_checkpoint_file(path, map_location='cpu', setting='--llm')
        not_adapted += [key for key in tensors
                        if key not in updates and _layer_kind(key) in adapted_kinds]
        for key in [key for key in tensors if key in remaining]:
            update, weight = remaining.pop(key), tensors[key]
            delta = update.delta()
            if delta.shape != weight.shape:
                raise ConversionError(f'LoRA {update.origin} gives shape {tuple(delta.shape)}, '
                                      f'but {key!r} in {path} is {tuple(weight.shape)}.')
            tensors[key] = (weight.float() + delta).to(weight.dtype)
        if safetensors:
            save_file(tensors, osp.join(out_dir, name), metadata={'format': 'pt'})
        else:
            torch.save(tensors, osp.join(out_dir, name))
        del tensors
    if remaining:
        key = sorted(remaining)[0]
        raise ConversionError(f'{llm_dir} has no {key!r} for LoRA {remaining[key].origin} '
                              f'({len(remaining)} LoRA targets missing): is it the LLM the '
                              'checkpoint was trained on?')
    if not_adapted:
        total = len(updates) + len(not_adapted)
        raise ConversionError(f'The LoRA covers {len(updates)} of {total} weights of its kinds '
                              f'in {llm_dir}: none for '
                              f'{sorted(not_adapted)[:3]}. Is the checkpoint complete?')


def _layer_kind(key: str) -> str:
    """``model.layers.7.self_attn.q_proj.weight`` -> ``model.layers.{n}.self_attn.q_proj.weight``"""
    return re.sub(r'\.\d+\.', '.{n}.', key)
