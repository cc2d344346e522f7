"""Assemble one plugin checkpoint from the official files, verified against the configured model."""
import contextlib
import copy
import os.path as osp
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

import torch
from mmpretrain.registry import MODELS
from tqdm import tqdm
from transformers import AutoConfig

from ..models.weights_fit import has_non_finite_values
from .blip2_qformer import convert_blip2_qformer
from .converted_weights import ConversionError, ConvertedWeights, DroppedKey, KeyOrigin
from .eva_vit import EVA_VIT_MARKER, convert_eva_vit
from .minigpt4_projection import LORA_MODES, convert_minigpt4_projection
from .mmpretrain_checkpoints import (BEIT_VIT_MARKER, MMPRETRAIN_QFORMER_ROOT,
                                     convert_mmpretrain_eva_vit, convert_mmpretrain_qformer)
from .source_checkpoint import load_source_state_dict

# The LLM stays a Hugging Face directory: its weights are never in this checkpoint.
LLM_PREFIX = 'llm.'
PROJECTION_PREFIX = 'head.'
DTYPES = ('keep', 'float32', 'float16', 'bfloat16')
DEFAULT_INIT = 'default init'
_MAX_LISTED_PROBLEMS = 20


@dataclass
class ConversionReport:
    """What a conversion did, key by key.

    Attributes:
        mapped (dict): Source file -> number of tensors taken from it.
        dropped (list): :class:`DroppedKey` for every source key not taken.
        defaulted (list): Model keys written with their default init.
        not_converted (list): Model key prefixes left out on purpose (the LLM,
            or the projection when no MiniGPT-4 file is given).
        notes (list): Other changes (e.g. pos_embed interpolation, dtype).
    """
    mapped: Dict[str, int] = field(default_factory=dict)
    dropped: List[DroppedKey] = field(default_factory=list)
    defaulted: List[str] = field(default_factory=list)
    not_converted: List[str] = field(default_factory=list)
    notes: List[str] = field(default_factory=list)

    def format(self) -> str:
        """A human-readable summary; dropped keys grouped by file and reason."""
        lines = [f'mapped {count} tensors from {source}' for source, count in self.mapped.items()]
        groups = defaultdict(list)
        for dropped in self.dropped:
            groups[(dropped.origin.source, dropped.reason)].append(dropped.origin.key)
        for (source, reason), keys in groups.items():
            shown = ', '.join(keys[:3]) + (f', ... ({len(keys)} keys)' if len(keys) > 3 else '')
            lines.append(f'dropped from {source}: {shown}: {reason}')
        lines += [f'default init (no file provides it): {key}' for key in self.defaulted]
        lines += [f'not converted: {prefix}*' for prefix in self.not_converted]
        lines += [f'note: {note}' for note in self.notes]
        return '\n'.join(lines)

    def to_meta(self) -> dict:
        return dict(
            mapped=dict(self.mapped),
            dropped=[dict(source=d.origin.source, key=d.origin.key, reason=d.reason)
                     for d in self.dropped],
            defaulted=list(self.defaulted),
            not_converted=list(self.not_converted),
            notes=list(self.notes))


def _no_tokenizer():
    """The image side needs no tokenizer (nor the LLM's files)."""
    return None


def llm_architecture(llm_cfg: dict) -> dict:
    """The configured LLM's ``config`` dict; for a directory, read from its ``config.json`` only."""
    if llm_cfg.get('config') is not None:
        return dict(llm_cfg['config'])
    path = osp.expanduser(llm_cfg['name_or_path'])
    if not osp.isfile(osp.join(path, 'config.json')):
        raise ConversionError(
            f'The LoRA to keep is checked against the LLM\'s layers: model.llm.name_or_path '
            f'{llm_cfg["name_or_path"]!r} has no config.json (only that file is read).')
    return AutoConfig.from_pretrained(path, local_files_only=True).to_dict()


def build_image_side_model(model_cfg: dict, with_lora: bool = False) -> torch.nn.Module:
    """The configured ``MiniGPT4`` on the meta device, with a one-layer stand-in LLM.

    Nothing is allocated and no LLM file is read, so a 7B / 13B config builds
    in a second; every non-LLM module is exactly the configured one. Frozen
    weights are kept in its state dict so that none can go missing unseen.
    ``with_lora``: the LLM is the configured architecture with its
    ``llm.lora`` instead (still on the meta device; a directory's
    ``config.json`` is read), so its LoRA keys are the ones to load.
    """
    model_cfg = copy.deepcopy(dict(model_cfg))
    if with_lora:
        llm = dict(type='HFCausalLM', dtype='float32',
                   config=llm_architecture(model_cfg['llm']), lora=model_cfg['llm']['lora'])
    else:
        llm = dict(type='HFCausalLM', dtype='float32',
                   config=dict(model_type='llama', vocab_size=8, hidden_size=8,
                               intermediate_size=8, num_hidden_layers=1,
                               num_attention_heads=1, num_key_value_heads=1))
    model_cfg.update(llm=llm, tokenizer=dict(type=_no_tokenizer), save_frozen_weights=True)
    with torch.device('meta'):
        return MODELS.build(model_cfg)


def convert_vision_encoder(state_dict: Dict[str, torch.Tensor], source: str, num_layers: int,
                           num_patches: int) -> ConvertedWeights:
    """Official ``eva_vit_g.pth`` or mmpretrain's ``minigpt-4_eva-g-p14_*.pth``, by key names."""
    if BEIT_VIT_MARKER in state_dict:
        return convert_mmpretrain_eva_vit(state_dict, source, num_layers, num_patches)
    if EVA_VIT_MARKER in state_dict:
        return convert_eva_vit(state_dict, source, num_layers, num_patches)
    raise ConversionError(
        f'{source} is not an EVA ViT checkpoint (eva_vit_g.pth or mmpretrain\'s '
        f'minigpt-4_eva-g-p14_*.pth): it has neither {EVA_VIT_MARKER!r} nor '
        f'{BEIT_VIT_MARKER!r}.')


def convert_qformer(state_dict: Dict[str, torch.Tensor], source: str) -> ConvertedWeights:
    """Official ``blip2_pretrained_flant5xxl.pth`` or mmpretrain's ``minigpt-4_qformer_*.pth``."""
    if any(key.startswith(MMPRETRAIN_QFORMER_ROOT + '.') for key in state_dict):
        return convert_mmpretrain_qformer(state_dict, source)
    return convert_blip2_qformer(state_dict, source)


def add_default_ln_vision(weights: ConvertedWeights, expected: Dict[str, torch.Size]) -> List[str]:
    """Write ``ln_vision`` at its init (weight 1, bias 0), as the official
    Llama-2 model, which loads no BLIP-2 file, computes with it."""
    keys = []
    for name, value in (('weight', torch.ones), ('bias', torch.zeros)):
        key = 'ln_vision.' + name
        weights.add(key, value(expected[key]), KeyOrigin(DEFAULT_INIT, key))
        keys.append(key)
    return keys


def check_weights(weights: ConvertedWeights, expected: Dict[str, torch.Size]) -> None:
    """Raise one error listing every unexpected, mis-shaped, non-finite or missing key,
    with its file."""
    problems = []
    for key, tensor in weights.tensors.items():
        origin = weights.origins[key]
        if key not in expected:
            problems.append(f'{origin} maps to {key!r}, which the model does not have')
        elif tensor.shape != expected[key]:
            problems.append(f'{origin} has shape {tuple(tensor.shape)}, but the model\'s '
                            f'{key!r} is {tuple(expected[key])}')
        elif has_non_finite_values(tensor):
            problems.append(f'{origin} has NaN or infinite values')
    for key in expected:
        if key not in weights.tensors:
            problems.append(f'{key!r} is missing: {weights.source_of_missing(key)}')
    if problems:
        listed = problems[:_MAX_LISTED_PROBLEMS]
        if len(problems) > len(listed):
            listed.append(f'... and {len(problems) - len(listed)} more')
        raise ConversionError('The files do not fit the model:\n  ' + '\n  '.join(listed))


def load_strictly(model: torch.nn.Module, state_dict: Dict[str, torch.Tensor],
                  not_converted: List[str]) -> None:
    """Load into the (meta) model through its own loading code: nothing may be
    missing but the prefixes in ``not_converted``, nothing unexpected."""
    # Without the projection, the file is the frozen weights of training.
    frozen_only = (model.loading_frozen_weights() if PROJECTION_PREFIX in not_converted
                   else contextlib.nullcontext())
    with frozen_only:
        result = model.load_state_dict(dict(state_dict), strict=False, assign=True)
    missing = [key for key in result.missing_keys
               if not any(key.startswith(prefix) for prefix in not_converted)]
    if missing or result.unexpected_keys:
        raise ConversionError(f'The model does not load the converted weights strictly: '
                              f'missing {missing}, unexpected {result.unexpected_keys}')


def convert_minigpt4_checkpoint(model_cfg: dict,
                                eva_vit: str,
                                blip2: Optional[str] = None,
                                minigpt4: Optional[str] = None,
                                img_size: Optional[int] = None,
                                dtype: str = 'keep',
                                lora: Optional[str] = None) -> Tuple[dict, ConversionReport]:
    """One checkpoint of every non-LLM weight of the configured MiniGPT-4.

    Each file may also be mmpretrain's converted counterpart (recognised by its
    key names). The result is checked against the model built from
    ``model_cfg``: every non-LLM key present with its shape, nothing extra
    (and with ``lora='keep'`` every LoRA factor of ``model.llm.lora``).

    Args:
        model_cfg (dict): The ``model`` of a MiniGPT-4 config.
        eva_vit (str): ``eva_vit_g.pth`` (-> ``vision_encoder``).
        blip2 (str, optional): ``blip2_pretrained_flant5xxl.pth`` (-> ``neck``,
            ``ln_vision``). Required with a Q-Former, refused without one
            (the Llama-2 variant keeps ``ln_vision`` at its default init).
        minigpt4 (str, optional): ``pretrained_minigpt4*.pth`` (-> ``head``).
            Without it the projection is left out (to train it from scratch).
        img_size (int, optional): Image size, overriding the config's
            ``vision_encoder.img_size``; ``pos_embed`` is interpolated to it.
        dtype (str): 'keep' the files' dtypes, or cast floating-point tensors
            to 'float32', 'float16' or 'bfloat16'. Defaults to 'keep'.
        lora (str, optional): ``minigpt4`` is a MiniGPT-v2 file with LoRA of
            the LLM: 'keep' it as the LoRA of ``model.llm.lora`` (each of its
            factors must be in the file, nothing else; the base LLM stays a
            directory), or it has been 'merged' into the LLM directory and is
            dropped (see :func:`convert_minigpt4_projection`). Defaults to None.

    Returns:
        tuple: ``{'state_dict': ..., 'meta': ...}`` for MMEngine's
        ``load_checkpoint``, and the :class:`ConversionReport`.
    """
    if dtype not in DTYPES:
        raise ValueError(f'--dtype must be one of {DTYPES}, got {dtype!r}.')
    if lora not in (None, ) + LORA_MODES:
        raise ValueError(f'lora must be None or one of {LORA_MODES}, got {lora!r}.')
    keep_lora = lora == 'keep'
    if keep_lora and model_cfg['llm'].get('lora') is None:
        raise ConversionError('--keep-lora: the config has no model.llm.lora to hold the LoRA '
                              '(use a MiniGPT-v2 config, or merge it and use --lora-merged).')
    if keep_lora and minigpt4 is None:
        raise ConversionError('--keep-lora: pass the MiniGPT-v2 checkpoint holding the LoRA '
                              'with --minigpt4.')
    model_cfg = copy.deepcopy(dict(model_cfg))
    if img_size is not None:
        model_cfg['vision_encoder'] = dict(model_cfg['vision_encoder'], img_size=img_size)
    model = build_image_side_model(model_cfg, with_lora=keep_lora)
    # Of the LLM, only what trains (the LoRA factors, when kept) is converted.
    llm_trained = model.trainable_parameter_names()
    expected = {key: tensor.shape for key, tensor in model.state_dict().items()
                if not key.startswith(LLM_PREFIX) or key in llm_trained}
    report = ConversionReport(not_converted=[LLM_PREFIX])
    # Reading the official files (GBs each) is the long part: one step per file, then the check.
    steps = tqdm(total=2 + (model.neck is not None) + (minigpt4 is not None), unit='step',
                 desc='Converting')

    def read(path: str, setting: str) -> Dict[str, torch.Tensor]:
        steps.set_postfix_str(f'reading {setting} {osp.basename(path)}')
        state_dict = load_source_state_dict(path, setting)
        steps.update(1)
        return state_dict

    vision_encoder = model.vision_encoder
    weights = convert_vision_encoder(
        read(eva_vit, '--eva-vit'), eva_vit,
        num_layers=len(vision_encoder.blocks), num_patches=vision_encoder.patch_embed.num_patches)
    if model.neck is not None:
        if blip2 is None:
            raise ConversionError('The config has a Q-Former (model.neck): pass its weights '
                                  '(blip2_pretrained_flant5xxl.pth) with --blip2.')
        weights.update(convert_qformer(read(blip2, '--blip2'), blip2))
    else:
        if blip2 is not None:
            raise ConversionError(
                f'The config has no Q-Former (model.neck is None), so --blip2 {blip2} has '
                'nothing to load; its ln_vision must not be used either: the official '
                'Llama-2 MiniGPT-4 keeps ln_vision at its default init.')
        report.defaulted = add_default_ln_vision(weights, expected)
    if minigpt4 is not None:
        weights.update(convert_minigpt4_projection(
            read(minigpt4, '--minigpt4'), minigpt4, lora))
    else:
        report.not_converted.append(PROJECTION_PREFIX)
        expected = {key: shape for key, shape in expected.items()
                    if not key.startswith(PROJECTION_PREFIX)}

    steps.set_postfix_str('checking against the model')
    check_weights(weights, expected)
    load_strictly(model, weights.tensors, report.not_converted)
    steps.update(1)
    steps.close()
    if keep_lora:
        num_lora = sum(key.startswith(LLM_PREFIX) for key in expected)
        weights.notes.append(f'LoRA kept: all {num_lora} factors of model.llm.lora '
                             f'{model_cfg["llm"]["lora"]} loaded from {minigpt4}')

    state_dict = weights.tensors
    if dtype != 'keep':
        state_dict = {key: tensor.to(getattr(torch, dtype)) if tensor.is_floating_point()
                      else tensor for key, tensor in state_dict.items()}
        weights.notes.append(f'floating-point tensors cast to {dtype}')
    for origin in weights.origins.values():
        if origin.source != DEFAULT_INIT:
            report.mapped[origin.source] = report.mapped.get(origin.source, 0) + 1
    report.dropped = weights.dropped
    report.notes = weights.notes
    meta = dict(
        converter='mmpretrain_minigpt4.converters.convert_minigpt4_checkpoint',
        sources=dict(eva_vit=eva_vit, blip2=blip2, minigpt4=minigpt4),
        img_size=vision_encoder.img_size[0],
        dtype=dtype,
        lora=lora,
        conversion=report.to_meta())
    return dict(state_dict=state_dict, meta=meta), report
