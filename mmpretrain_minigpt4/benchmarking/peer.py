"""mmpretrain 1.2's own ``MiniGPT4`` (the peer), built at the sizes of one of our configs.

Only for measuring: the peer is built offline from a local ``BertConfig`` (its
Q-Former otherwise calls ``BertConfig.from_pretrained('bert-base-uncased')``),
given our random weights (same ViT, Q-Former, projection; the LLM module is
shared, not copied), and patched where transformers 5 removed what its Q-Former
calls. Nothing here changes how our model behaves.
"""
import contextlib
import importlib
import inspect
import re
from typing import Dict, List

import torch
from mmpretrain.registry import MODELS
from transformers import BertConfig, PreTrainedTokenizerFast

from ..package_files import resolve_package_path

PEER_TYPE = 'mmpretrain.models.multimodal.minigpt4.minigpt4.MiniGPT4'


def _invert_attention_mask(self, mask: torch.Tensor) -> torch.Tensor:
    """transformers 4's ``invert_attention_mask``: 1/0 mask -> additive (B, 1, 1|L, N) mask."""
    if mask.dim() == 2:
        mask = mask[:, None, None, :]
    elif mask.dim() == 3:
        mask = mask[:, None, :, :]
    mask = mask.to(self.dtype)
    return (1.0 - mask) * torch.finfo(self.dtype).min


def _get_head_mask(self, head_mask, num_hidden_layers: int, *args, **kwargs):
    """transformers 4's ``get_head_mask`` for the only case the peer uses (no head mask)."""
    if head_mask is not None:
        raise NotImplementedError('The benchmark peer supports no head mask.')
    return [None] * num_hidden_layers


def patch_peer_qformer_for_transformers5() -> None:
    """Give the peer's BERT what transformers 5 removed from ``PreTrainedModel``.

    ``all_tied_weights_keys`` (read by ``init_weights``), ``invert_attention_mask``
    and ``get_head_mask`` (read by ``BertModel.forward``). Idempotent.
    """
    from mmpretrain.models.multimodal.blip.language_model import BertPreTrainedModel
    if not hasattr(BertPreTrainedModel, 'all_tied_weights_keys'):
        BertPreTrainedModel.all_tied_weights_keys = {}
    if not hasattr(BertPreTrainedModel, 'invert_attention_mask'):
        BertPreTrainedModel.invert_attention_mask = _invert_attention_mask
    if not hasattr(BertPreTrainedModel, 'get_head_mask'):
        BertPreTrainedModel.get_head_mask = _get_head_mask


@contextlib.contextmanager
def _local_bert_config(**sizes):
    """Make the peer's ``BertConfig.from_pretrained(...)`` return a local config of ``sizes``."""
    # ``blip2.Qformer`` the attribute is the class; the module is only in sys.modules.
    qformer_module = importlib.import_module('mmpretrain.models.multimodal.blip2.Qformer')

    class LocalBertConfig(BertConfig):

        @classmethod
        def from_pretrained(cls, *args, **kwargs):
            return BertConfig(**sizes)

    original = qformer_module.BertConfig
    qformer_module.BertConfig = LocalBertConfig
    try:
        yield
    finally:
        qformer_module.BertConfig = original


def _with_defaults(cfg: dict) -> dict:
    """A module config with the registered class's defaults filled in."""
    cls = MODELS.get(cfg['type'])
    params = inspect.signature(cls.__init__).parameters
    filled = {k: p.default for k, p in params.items() if p.default is not inspect.Parameter.empty}
    filled.update({k: v for k, v in cfg.items() if k != 'type'})
    return filled


def build_peer_tokenizer(tokenizer_cfg: dict):
    """A Hugging Face Llama tokenizer from our tokenizer config (the peer needs HF's API)."""
    if tokenizer_cfg.get('tokenizer_json'):
        path = resolve_package_path(tokenizer_cfg['tokenizer_json'])
        return PreTrainedTokenizerFast(
            tokenizer_file=path, bos_token='<s>', eos_token='</s>', unk_token='<unk>')
    from transformers import LlamaTokenizer
    return LlamaTokenizer(vocab_file=resolve_package_path(tokenizer_cfg['model_file']))


def build_peer(ours, model_cfg: dict, instruction_template: str):
    """mmpretrain's ``MiniGPT4`` at the sizes of ``model_cfg``, sharing ``ours``' weights.

    Args:
        ours (MiniGPT4): Our built model (Q-Former variant); its ViT, ln_vision,
            Q-Former and projection weights are copied, its LLM is shared.
        model_cfg (dict): The ``model`` config ``ours`` was built from.
        instruction_template (str): The peer's ``prompt_template['en']``
            (``'###Ask: {} ###Answer: '`` in mmpretrain; its ``loss`` splits there).

    Returns:
        mmpretrain's ``MiniGPT4``, in eval mode, on ``ours``' device and dtype.
    """
    if ours.neck is None:
        raise ValueError('mmpretrain 1.2 has no MiniGPT-4 without Q-Former: no peer for '
                         'the token-merge (Llama-2) variant.')
    patch_peer_qformer_for_transformers5()
    vit = _with_defaults(model_cfg['vision_encoder'])
    neck = _with_defaults(model_cfg['neck'])
    vision_encoder = dict(
        type='BEiTViT',
        arch=dict(embed_dims=vit['embed_dims'], num_layers=vit['num_layers'],
                  num_heads=vit['num_heads'],
                  feedforward_channels=int(vit['embed_dims'] * vit['mlp_ratio'])),
        img_size=vit['img_size'], patch_size=vit['patch_size'], layer_scale_init_value=0.0,
        frozen_stages=vit['num_layers'], use_abs_pos_emb=True, use_rel_pos_bias=False,
        final_norm=False, use_shared_rel_pos_bias=False, out_type='raw',
        norm_cfg=dict(type='LN', eps=vit['layer_norm_eps']))
    q_former = dict(
        type='Qformer', model_style='bert-base-uncased', vision_model_width=neck['encoder_width'],
        add_cross_attention=True, cross_attention_freq=neck['cross_attention_freq'],
        num_query_token=neck['num_query_tokens'])
    bert_sizes = dict(
        hidden_size=neck['hidden_size'], num_hidden_layers=neck['num_layers'],
        num_attention_heads=neck['num_heads'], intermediate_size=neck['intermediate_size'],
        layer_norm_eps=neck['layer_norm_eps'])
    peer_cls = MODELS.get(PEER_TYPE)
    with _local_bert_config(**bert_sizes):
        peer = peer_cls(
            vision_encoder=vision_encoder,
            q_former_model=q_former,
            # A built module is shared as is: mmengine's build returns it unchanged.
            lang_encoder=dict(type=lambda: ours.llm),
            tokenizer=dict(type=lambda: build_peer_tokenizer(model_cfg['tokenizer'])),
            num_query_token=neck['num_query_tokens'],
            prompt_template=dict(en=instruction_template, zh=instruction_template),
            max_txt_len=ours.max_txt_len,
            end_sym=ours.template.end_sym,
            data_preprocessor=dict(type='MultiModalDataPreprocessor'))
    device = next(ours.parameters()).device
    dtype = ours.head.proj.weight.dtype
    peer.to(device=device, dtype=dtype)
    missing, unexpected = peer.load_state_dict(peer_state_dict(ours), strict=False)
    not_llm = [k for k in missing if not k.startswith('llama_model.')]
    if not_llm or unexpected:
        raise RuntimeError(f'Weights did not map onto the peer: missing {not_llm}, '
                           f'unexpected {unexpected}.')
    return peer.eval()


_VIT_RENAMES = [
    (r'^patch_embed\.proj\.', 'patch_embed.projection.'),
    (r'^blocks\.(\d+)\.norm1\.', r'layers.\1.ln1.'),
    (r'^blocks\.(\d+)\.norm2\.', r'layers.\1.ln2.'),
    (r'^blocks\.(\d+)\.mlp\.fc1\.', r'layers.\1.ffn.layers.0.0.'),
    (r'^blocks\.(\d+)\.mlp\.fc2\.', r'layers.\1.ffn.layers.1.'),
    (r'^blocks\.(\d+)\.attn\.', r'layers.\1.attn.'),
]
_QFORMER_RENAMES = [
    (r'^qformer\.layernorm\.', 'q_former.bert.embeddings.LayerNorm.'),
    (r'\.(attention|crossattention)\.attention\.', r'.\1.self.'),
    (r'^qformer\.', 'q_former.bert.'),
]


def _rename(key: str, rules) -> str:
    for pattern, replacement in rules:
        key = re.sub(pattern, replacement, key)
    return key


def peer_state_dict(ours) -> Dict[str, torch.Tensor]:
    """Our ViT / ln_vision / Q-Former / projection weights under the peer's key names."""
    state = {}
    for key, value in ours.vision_encoder.state_dict().items():
        state['vision_encoder.' + _rename(key, _VIT_RENAMES)] = value
    for key, value in ours.ln_vision.state_dict().items():
        state['ln_vision.' + key] = value
    for key, value in ours.neck.state_dict().items():
        state['query_tokens' if key == 'query_tokens' else _rename(key, _QFORMER_RENAMES)] = value
    for key, value in ours.head.proj.state_dict().items():
        state['llama_proj.' + key] = value
    return state


def peer_training_samples(prompts: List[str], answers: List[str], answer_mark: str) -> list:
    """Data samples for the peer's ``loss``: ``chat_content`` = prompt + answer, ``lang='en'``.

    The peer splits ``chat_content`` at ``answer_mark`` (``'###Answer: '``);
    a stage-1 sample (no prompt) becomes ``'<ImageHere>' + answer_mark + answer``,
    the closest the peer can express (it has no prompt-free training).
    """
    from mmpretrain.structures import DataSample
    samples = []
    for prompt, answer in zip(prompts, answers):
        prompt = prompt or '<ImageHere>' + answer_mark
        samples.append(DataSample(chat_content=prompt + answer, lang='en'))
    return samples
