"""MiniGPT-4: frozen ViT -> ln_vision -> (frozen Q-Former) -> trainable projection -> frozen LLM."""
import os.path as osp
from typing import List, Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from mmengine.model import BaseModel
from mmpretrain.registry import MODELS, TOKENIZER
from mmpretrain.structures import DataSample
from transformers import CompileConfig, GenerationConfig, StoppingCriteriaList
from transformers.generation.streamers import BaseStreamer

from ..conversation import (build_instruction_prompt, get_template, split_prompt_at_image,
                            strip_generated_text)
from .frozen_feature_cache import FrozenFeatureCache
from .language_models.stop_on_text import StopOnText
from .layers import FP32LayerNorm
from .unique_images import unique_images

# OpenAI CLIP normalisation in 0-255 units (BLIP-2's image processors).
CLIP_MEAN = [122.770938, 116.7460125, 104.09373615]
CLIP_STD = [68.5005327, 66.6321579, 70.32316305]
IGNORE_INDEX = -100


@MODELS.register_module(force=True)
class MiniGPT4(BaseModel):
    """MiniGPT-4 (and its Llama-2 / v2-style variants) as an MMEngine model.

    Data samples carry text in these fields:

    - ``prompt`` (str): the LLM prompt with one ``<ImageHere>``, already in the
      conversation template ('' in stage 1: image tokens come first);
    - ``answer`` (str): the training answer; ``template.end_sym`` is appended;
    - ``question`` (str): for ``predict`` without a ``prompt``: formatted with
      ``vqa_instruction``; the answer goes to ``pred_answer``. Without either,
      ``caption_instruction`` is used and the text goes to ``pred_caption``.

    Args:
        vision_encoder (dict): The ViT (e.g. ``EVAViT``).
        head (dict): Projection into the LLM (``LinearProjectionHead`` or
            ``TokenMergeProjectionHead``); the only trainable part.
        llm (dict): The causal LM (``HFCausalLM``).
        tokenizer (dict, optional): The LLM tokenizer. Defaults to
            ``LlamaSentencePieceTokenizer`` on ``tokenizer.model`` in the
            directory ``llm.name_or_path``.
        neck (dict, optional): Q-Former (``QFormerNeck``); None for the
            Llama-2 / v2 token-merge variant.
        template (str): Conversation template name (see
            :mod:`mmpretrain_minigpt4.conversation`). Defaults to 'vicuna_v0'.
        max_txt_len (int): Answer tokens kept (``end_sym`` included).
            Defaults to 160.
        caption_instruction (str): Instruction when a sample has no prompt
            and no question. Defaults to 'Describe this image in detail.'.
        vqa_instruction (str): Instruction for a question, ``{}`` is replaced
            by it. Defaults to '{}'.
        generation_cfg (dict, optional): ``transformers.GenerationConfig``
            arguments (``max_new_tokens``, ``num_beams``, ``do_sample``, ...).
            Defaults to greedy decoding of at most 300 new tokens.
        save_frozen_weights (bool): Whether ``state_dict`` (and so every
            Runner checkpoint) holds the frozen weights too. By default only
            trainable parameters are saved (never a 7B LLM per checkpoint), and
            loading a checkpoint does not report frozen weights as missing.
            Defaults to False.
        cache_frozen_features (bool): In training, keep each image's frozen
            features (ViT -> Q-Former output) by its ``img_path`` /
            ``image_id`` and skip the frozen encoder for images seen before.
            Only for pipelines without random augmentation (checked: changed
            pixels raise). Defaults to False.
        llm_gradient_checkpointing (bool): Recompute the LLM's layer
            activations in the backward pass instead of keeping them: less
            memory, about one more LLM forward per step. Defaults to False.
        compile_generation (bool | dict): Decode with a static KV cache and a
            ``torch.compile``-d LLM forward, on any device (transformers alone
            compiles only on CUDA). A dict is passed to
            ``transformers.CompileConfig`` (e.g. ``dict(mode='default')``). The
            first call per batch shape compiles (slow). Defaults to False.
        data_preprocessor (dict, optional): Defaults to
            ``MultiModalDataPreprocessor`` with CLIP mean/std, BGR -> RGB.
        init_cfg (dict, optional): MMEngine init config.
    """

    def __init__(self,
                 vision_encoder: dict,
                 head: dict,
                 llm: dict,
                 tokenizer: Optional[dict] = None,
                 neck: Optional[dict] = None,
                 template: str = 'vicuna_v0',
                 max_txt_len: int = 160,
                 caption_instruction: str = 'Describe this image in detail.',
                 vqa_instruction: str = '{}',
                 generation_cfg: Optional[dict] = None,
                 save_frozen_weights: bool = False,
                 cache_frozen_features: bool = False,
                 llm_gradient_checkpointing: bool = False,
                 compile_generation: Union[bool, dict] = False,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None):
        if data_preprocessor is None:
            data_preprocessor = dict(
                type='MultiModalDataPreprocessor', mean=CLIP_MEAN, std=CLIP_STD, to_rgb=True)
        if isinstance(data_preprocessor, dict):
            data_preprocessor = MODELS.build(data_preprocessor)
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)

        self.vision_encoder = MODELS.build(vision_encoder)
        self.ln_vision = FP32LayerNorm(self.vision_encoder.embed_dim)
        self.neck = MODELS.build(neck) if neck is not None else None
        self.head = MODELS.build(head)
        self.llm = MODELS.build(llm)
        if tokenizer is None:
            if llm.get('name_or_path') is None:
                raise ValueError('Set `model.tokenizer` when the LLM is built from a config.')
            tokenizer = dict(type='LlamaSentencePieceTokenizer',
                             model_file=osp.join(llm['name_or_path'], 'tokenizer.model'))
        self.tokenizer = TOKENIZER.build(tokenizer)

        self.template = get_template(template)
        self.max_txt_len = max_txt_len
        self.caption_instruction = caption_instruction
        self.vqa_instruction = vqa_instruction
        self.generation_cfg = dict(max_new_tokens=300, num_beams=1, do_sample=False)
        self.generation_cfg.update(generation_cfg or {})

        self.frozen_modules = [self.vision_encoder, self.ln_vision, self.llm]
        if self.neck is not None:
            self.frozen_modules.append(self.neck)
        for module in self.frozen_modules:
            module.requires_grad_(False)
            module.eval()
        if not save_frozen_weights:
            self._register_state_dict_hook(_drop_frozen_parameters)
            self.register_load_state_dict_post_hook(_ignore_missing_frozen_parameters)
        self.feature_cache = FrozenFeatureCache() if cache_frozen_features else None
        if self.feature_cache is not None:
            # Loading may change the frozen weights the cached features came from.
            self.register_load_state_dict_post_hook(_clear_feature_cache)
        self.llm_gradient_checkpointing = llm_gradient_checkpointing
        self.compile_generation = compile_generation
        if llm_gradient_checkpointing:
            enable = getattr(self.llm, 'activation_checkpointing_enable', None)
            if enable is None:  # transformers < 5
                enable = self.llm.gradient_checkpointing_enable
            enable({'use_reentrant': False})

    def frozen_parameter_names(self, prefix: str = '') -> set:
        """Names of the parameters that do not train."""
        return {prefix + name for name, p in self.named_parameters() if not p.requires_grad}

    def train(self, mode: bool = True):
        """Frozen parts stay in eval mode (MiniGPT-4 never enables their dropout)."""
        super().train(mode)
        for module in self.frozen_modules:
            module.eval()
        if self.llm_gradient_checkpointing:
            # transformers checkpoints a layer only when its own `training` flag is
            # set; the flag is set on the layer alone so no dropout below it turns on.
            for layer in self.llm.modules():
                if getattr(layer, 'gradient_checkpointing', False):
                    layer.training = mode
        return self

    def forward(self, images: torch.Tensor, data_samples: Optional[List[DataSample]] = None,
                mode: str = 'loss'):
        """``mode``: 'loss' -> dict of losses, 'predict' -> data samples with
        predictions, 'tensor' -> image tokens (B, T, llm_hidden)."""
        if mode == 'loss':
            return self.loss(images, data_samples)
        if mode == 'predict':
            return self.predict(images, data_samples)
        if mode == 'tensor':
            return self.extract_image_tokens(images)
        raise RuntimeError(f'Invalid mode {mode!r}: expected "loss", "predict" or "tensor".')

    # ------------------------------------------------------------------ image side
    def _check_images(self, images: torch.Tensor) -> None:
        expected = self.vision_encoder.img_size
        if images.ndim != 4 or images.shape[1] != 3 or tuple(images.shape[2:]) != expected:
            raise ValueError(
                f'MiniGPT4 expects images of shape (B, 3, {expected[0]}, {expected[1]}), got '
                f'{tuple(images.shape)}. Resize images to the ViT size in the data pipeline '
                "and batch them with collate_fn=dict(type='default_collate').")

    @torch.no_grad()
    def encode_frozen(self, images: torch.Tensor) -> torch.Tensor:
        """images (B, 3, H, W) -> frozen features: Q-Former output (B, 32, 768), or the
        ln_vision tokens (B, 1 + N, C) without a neck. A repeated image is encoded once."""
        images, inverse = unique_images(images)
        encoder_dtype = self.vision_encoder.patch_embed.proj.weight.dtype
        features = self.ln_vision(self.vision_encoder(images.to(encoder_dtype)))
        if self.neck is not None:
            features = self.neck(features)
        return features if inverse is None else features[inverse]

    def extract_image_tokens(self, images: torch.Tensor,
                             data_samples: Optional[List[DataSample]] = None) -> torch.Tensor:
        """images (B, 3, H, W) -> image_tokens (B, T, llm_hidden) in the LLM's dtype.

        T is 32 with the Q-Former, 64 for the token-merge head at 224 px. With
        ``cache_frozen_features`` and ``data_samples``, cached images skip the
        frozen encoder.
        """
        self._check_images(images)
        if self.feature_cache is not None and data_samples is not None:
            features = self.feature_cache.features(images, data_samples, self.encode_frozen)
        else:
            features = self.encode_frozen(images)
        head_dtype = next(self.head.parameters()).dtype
        tokens = self.head(features.to(head_dtype))
        return tokens.to(self.llm.get_input_embeddings().weight.dtype)

    # ------------------------------------------------------------------ text side
    def prompt_token_ids(self, prompt: str) -> Tuple[List[int], List[int]]:
        """Ids before (BOS first) and after the image, each segment tokenized alone."""
        before, after = split_prompt_at_image(prompt)
        return self.tokenizer.encode(before, add_bos=True), self.tokenizer.encode(after)

    def target_token_ids(self, answer: str) -> List[int]:
        """``answer + end_sym`` ids, truncated to ``max_txt_len`` (which may cut ``end_sym``)."""
        return self.tokenizer.encode(answer + self.template.end_sym)[:self.max_txt_len]

    def target_labels(self, target_ids: List[int]) -> List[int]:
        """Training labels of the target ids: pad ids are ignored (-100), as officially."""
        return [IGNORE_INDEX if i == self.tokenizer.pad_id else i for i in target_ids]

    def embed_sequences(self, segments: Sequence[Tuple[List[int], List[int]]],
                         image_tokens: torch.Tensor, left_pad: bool):
        """Embed ``[before, image, after]`` per sample and pad them to one length.

        Args:
            segments: Per sample, the token ids before and after the image.
            image_tokens (B, T, D): Image embeddings.
            left_pad (bool): Pad on the left (generation) or right (training).

        Returns:
            tuple: ``inputs_embeds (B, L, D)`` and ``attention_mask (B, L)``.
        """
        num_image_tokens = image_tokens.shape[1]
        lengths = [len(b) + num_image_tokens + len(a) for b, a in segments]
        total = max(lengths)
        # Rows are assembled as lists and sent to the device in one copy each: no
        # per-sample kernel launches or host-device transfers.
        ids, kinds = [], []  # kinds: 0 padding, 1 text, 2 image
        for (before, after), length in zip(segments, lengths):
            padding = [0] * (total - length)
            row_ids = before + [0] * num_image_tokens + after
            row_kinds = [1] * len(before) + [2] * num_image_tokens + [1] * len(after)
            ids.append(padding + row_ids if left_pad else row_ids + padding)
            kinds.append(padding + row_kinds if left_pad else row_kinds + padding)
        device = image_tokens.device
        text_ids = torch.tensor(ids, dtype=torch.long, device=device)
        kinds = torch.tensor(kinds, dtype=torch.uint8, device=device)
        is_text, is_image = kinds == 1, kinds == 2
        embeds = self.llm.get_input_embeddings()(text_ids)
        # Padding is a zero vector (as the official batched generate) and is masked.
        embeds = embeds * is_text.unsqueeze(-1).to(embeds.dtype)
        embeds = embeds.masked_scatter(is_image.unsqueeze(-1), image_tokens.to(embeds.dtype))
        attention_mask = (is_text | is_image).long()
        return embeds, attention_mask

    # ------------------------------------------------------------------ loss
    def build_training_inputs(self, image_tokens: torch.Tensor, data_samples: List[DataSample]):
        """Right-padded LLM inputs and labels for a training batch.

        Per sample: ``[BOS] prompt-before [image] prompt-after answer end_sym``;
        labels are -100 everywhere but on the answer tokens.

        Args:
            image_tokens (B, T, D): From :meth:`extract_image_tokens`.
            data_samples (list[DataSample]): With ``answer`` and optional ``prompt``.

        Returns:
            tuple: ``inputs_embeds (B, L, D)``, ``attention_mask (B, L)``,
            ``labels (B, L)``.
        """
        segments, targets = [], []
        for sample in data_samples:
            if 'answer' not in sample:
                raise KeyError('MiniGPT4.loss needs an `answer` field in every data sample '
                               '(pack it with PackInputs(algorithm_keys=[..., "answer"])).')
            before, after = self.prompt_token_ids(sample.get('prompt', ''))
            target = self.target_token_ids(sample.answer)
            segments.append((before, after + target))
            targets.append(self.target_labels(target))
        embeds, attention_mask = self.embed_sequences(segments, image_tokens, left_pad=False)
        lengths = [len(b) + image_tokens.shape[1] + len(a) for b, a in segments]
        total = max(lengths)
        labels = [[IGNORE_INDEX] * (length - len(target)) + target + [IGNORE_INDEX] *
                  (total - length) for target, length in zip(targets, lengths)]
        return embeds, attention_mask, torch.tensor(labels, dtype=torch.long, device=embeds.device)

    def loss(self, images: torch.Tensor, data_samples: List[DataSample]) -> dict:
        """Token-mean cross-entropy of ``answer + end_sym`` given the image and prompt."""
        embeds, attention_mask, labels = self.build_training_inputs(
            self.extract_image_tokens(images, data_samples), data_samples)
        # No KV cache: training never reuses it.
        hidden = self.llm.get_decoder()(
            inputs_embeds=embeds, attention_mask=attention_mask, use_cache=False).last_hidden_state
        # Logits only where the next token is a target: the same loss, far less work.
        next_labels = labels[:, 1:]
        is_target = next_labels != IGNORE_INDEX
        logits = self.llm.get_output_embeddings()(hidden[:, :-1][is_target]).float()
        return dict(loss=F.cross_entropy(logits, next_labels[is_target]))

    # ------------------------------------------------------------------ predict
    def prediction_prompt(self, sample: DataSample) -> str:
        """The sample's ``prompt``, else the template around its question or the caption instruction."""
        if 'prompt' in sample:
            return sample.prompt
        if 'question' in sample:
            instruction = self.vqa_instruction.format(sample.question)
        else:
            instruction = self.caption_instruction
        return build_instruction_prompt(self.template, instruction)

    @torch.no_grad()
    def generate(self, image_tokens: torch.Tensor, prompts: Sequence[str],
                 streamer: Optional[BaseStreamer] = None,
                 **generation_overrides) -> List[str]:
        """Answer each prompt about its image, batched with left padding.

        Args:
            image_tokens (B, T, D): From :meth:`extract_image_tokens`.
            prompts (Sequence[str]): One prompt per image, each with one
                ``<ImageHere>``.
            streamer (BaseStreamer, optional): Receives the new token ids as
                they are generated (transformers' streamer protocol).
            **generation_overrides: Override ``generation_cfg`` for this call.

        Returns:
            list[str]: The answers, cut at the template's stop strings.
        """
        segments = [self.prompt_token_ids(prompt) for prompt in prompts]
        embeds, attention_mask = self.embed_sequences(segments, image_tokens, left_pad=True)
        tokenizer = self.tokenizer
        generation_cfg = {**self.generation_cfg, **generation_overrides}
        if self.compile_generation:
            compile_config = CompileConfig(**(self.compile_generation if isinstance(
                self.compile_generation, dict) else {}))
            compile_config._compile_all_devices = True
            generation_cfg.update(cache_implementation='static', compile_config=compile_config)
        config = GenerationConfig(
            **generation_cfg,
            bos_token_id=tokenizer.bos_id,
            eos_token_id=tokenizer.eos_id,
            pad_token_id=tokenizer.pad_id)
        stops = [self.template.end_sym, self.template.sep]
        stopping = StoppingCriteriaList([StopOnText(stops, tokenizer.decode)])
        output_ids = self.llm.generate(
            inputs_embeds=embeds,
            attention_mask=attention_mask,
            generation_config=config,
            stopping_criteria=stopping,
            streamer=streamer)
        return [strip_generated_text(tokenizer.decode(ids), self.template) for ids in output_ids]

    def predict(self, images: torch.Tensor,
                data_samples: Optional[List[DataSample]] = None) -> List[DataSample]:
        """Caption or answer every image; fills ``pred_caption`` or ``pred_answer``."""
        if data_samples is None:
            data_samples = [DataSample() for _ in range(images.shape[0])]
        prompts = [self.prediction_prompt(sample) for sample in data_samples]
        texts = self.generate(self.extract_image_tokens(images), prompts)
        for sample, text in zip(data_samples, texts):
            if 'question' in sample:
                sample.pred_answer = text
            else:
                sample.pred_caption = text
        return data_samples


def _drop_frozen_parameters(model: MiniGPT4, state_dict: dict, prefix: str, local_metadata):
    """State-dict hook: keep only trainable parameters (and buffers)."""
    for name in model.frozen_parameter_names(prefix):
        state_dict.pop(name, None)
    return state_dict


def _ignore_missing_frozen_parameters(model: MiniGPT4, incompatible_keys) -> None:
    """Load hook: frozen weights come from their own files, not from checkpoints."""
    frozen = model.frozen_parameter_names()
    missing = [key for key in incompatible_keys.missing_keys if key not in frozen]
    incompatible_keys.missing_keys[:] = missing


def _clear_feature_cache(model: MiniGPT4, incompatible_keys) -> None:
    """Load hook: cached frozen features may come from the old frozen weights."""
    model.feature_cache.clear()
