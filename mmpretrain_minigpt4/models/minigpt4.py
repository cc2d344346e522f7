"""MiniGPT-4: frozen ViT -> ln_vision -> (frozen Q-Former) -> trainable projection -> frozen LLM
(MiniGPT-v2: with trainable LoRA)."""
import contextlib
import os.path as osp
from typing import List, Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from mmengine.model import BaseModel
from mmpretrain.registry import MODELS, TOKENIZER
from mmpretrain.structures import DataSample
from transformers import (CompileConfig, GenerationConfig, LogitsProcessorList,
                          RepetitionPenaltyLogitsProcessor, StoppingCriteriaList)
from transformers.generation.streamers import BaseStreamer

from ..conversation import (build_followup_prompt, build_instruction_prompt,
                            build_prediction_prompt, build_text_only_prompt, check_conversation,
                            check_instruction_slot, check_question, get_template,
                            split_prompt_at_image, strip_generated_text)
from ..grounding import parse_grounded_text
from ..safe_checkpoint_loading import checkpoint_source
from .frozen_feature_cache import FrozenFeatureCache
from .language_models.generation_settings import check_context_length, check_generation_settings
from .language_models.lora import lora_dropouts, lora_parameters, merge_lora
from .language_models.stop_on_text import StopOnText
from .layers import FP32LayerNorm
from .unique_images import unique_images
from .weights_fit import check_weights_fit, part_of, strip_prefix

# OpenAI CLIP normalisation in 0-255 units (BLIP-2's image processors).
CLIP_MEAN = [122.770938, 116.7460125, 104.09373615]
CLIP_STD = [68.5005327, 66.6321579, 70.32316305]
IGNORE_INDEX = -100
DEFAULT_GENERATION_CFG = dict(max_new_tokens=300, num_beams=1, do_sample=False)


@MODELS.register_module(force=True)
class MiniGPT4(BaseModel):
    """MiniGPT-4 (and its Llama-2 / MiniGPT-v2 variants) as an MMEngine model.

    MiniGPT-v2 is a config of this class: a 448-px ViT, no neck, the
    token-merge head, an LLM with LoRA (``llm.lora``) and the ``'minigptv2'``
    template. Its LoRA factors train with the projection; see :meth:`merge_lora`.

    The conversation template is set once, here (``template``): training
    prompts, prediction prompts and the chat all wrap their text in it. Data
    samples carry text in these fields:

    - ``instruction`` (str): training instruction (e.g. drawn by
      ``RandomInstruction``), wrapped with the image in the template; the
      ``'pretrain'`` template (stage 1) takes none: image tokens come first.
      A batch without images (``inputs`` absent: MiniGPT-v2's text-only data)
      uses the template's text-only prompt;
    - ``answer`` (str): the training answer, else ``gt_caption`` (mmpretrain's
      caption field); ``template.end_sym`` is appended;
    - ``conversation`` (list of ``[question, answer]``): a multi-turn training
      sample instead of ``instruction`` / ``answer``: the first question goes
      with the image, later ones are written as the official
      ``tokenize_conversation`` writes them, and every answer is a target;
    - ``question`` (str): for ``predict``: formatted with ``vqa_instruction``;
      the answer goes to ``pred_answer``. Without a question or an
      instruction, ``caption_instruction`` is used and the text goes to
      ``pred_caption``;
    - ``candidates`` (list[str], optional): for ``predict``: instead of
      generating, each candidate is scored as the answer (the official
      ``multi_select``, see :meth:`candidate_scores`); the best goes to
      ``pred_answer``, its index to ``pred_candidate_index``, all scores to
      ``pred_candidate_scores``;
    - ``prompt`` (str, optional): a whole prompt with one ``<ImageHere>``,
      used as it is instead of the template (custom prompts).

    With ``parse_boxes`` (MiniGPT-v2), ``predict`` also reads the boxes of
    each answer into ``pred_bboxes`` (N, 4) (x1, y1, x2, y2 in pixels of the
    original image, from the sample's ``ori_shape``), ``pred_phrases`` (one
    phrase or None per box) and ``pred_box_problems`` (box texts that could not
    be read, see :func:`~mmpretrain_minigpt4.grounding.parse_grounded_text`).

    Args:
        vision_encoder (dict): The ViT (e.g. ``EVAViT``).
        head (dict): Projection into the LLM (``LinearProjectionHead`` or
            ``TokenMergeProjectionHead``); the trainable part.
        llm (dict): The causal LM (``HFCausalLM``), optionally with ``lora``.
        tokenizer (dict, optional): The LLM tokenizer. Defaults to
            ``LlamaSentencePieceTokenizer`` on ``tokenizer.model`` in the
            directory ``llm.name_or_path``.
        neck (dict, optional): Q-Former (``QFormerNeck``); None for the
            Llama-2 / v2 token-merge variant.
        template (str): Conversation template name (see
            :mod:`mmpretrain_minigpt4.conversation`). Defaults to 'vicuna_v0'.
        max_txt_len (int): Answer tokens kept (``end_sym`` included).
            Defaults to 160.
        caption_instruction (str): Instruction when a sample has no prompt,
            question or instruction. Defaults to 'Describe this image in detail.'.
        vqa_instruction (str): Instruction for a question, whose one ``{}`` is
            replaced by it. Defaults to '{}'.
        freeze_llm (bool): Whether the LLM stays frozen (official), but for
            its LoRA factors if it has any (MiniGPT-v2). False trains the
            whole LLM with the projection: only for the tiny demo model, whose
            random LLM must learn the language itself (a real LLM already
            knows it). Defaults to True.
        generation_cfg (dict, optional): Decoding settings (``max_new_tokens``,
            ``num_beams``, ``do_sample``, ``temperature``, ``top_p``, ...; see
            :data:`~.language_models.generation_settings.SUPPORTED_SETTINGS`),
            checked when set. Defaults to greedy decoding of at most 300 new tokens.
        save_frozen_weights (bool): Whether ``state_dict`` (and so every
            Runner checkpoint) holds the frozen weights too. By default only
            trainable parameters are saved (never a 7B LLM per checkpoint), and
            loading a checkpoint does not report frozen weights as missing.
            Defaults to False.
        cache_frozen_features (bool): See :meth:`set_frozen_feature_cache`.
            Defaults to False.
        llm_gradient_checkpointing (bool): See
            :meth:`set_llm_gradient_checkpointing`. Defaults to False.
        compile_generation (bool | dict): See :meth:`set_compile_generation`.
            Defaults to False.
        parse_boxes (bool): Whether ``predict`` reads the answers' boxes (see
            above). Defaults to False.
        vision_dtype (str, optional): Cast the whole frozen ViT to this dtype
            (``'float16'``, ``'bfloat16'``): half its memory (1.84 GiB instead
            of 3.7 for ViT-g); ``ln_vision`` still normalises in float32. The
            official ``vit_precision: fp16`` halves only the linear and conv
            weights and keeps the residual stream in float32 under autocast;
            float32 (the default) is the closer of the two to its numerics.
            Defaults to None (float32).
        data_preprocessor (dict, optional): Defaults to
            ``MultiModalDataPreprocessor`` with CLIP mean/std, BGR -> RGB.
        init_cfg (dict, optional): MMEngine init config; a ``Pretrained``
            checkpoint here is the frozen weights (it need not hold the
            projection).

    Every state dict loaded into the model is checked first (see
    :func:`~.weights_fit.check_weights_fit`): no unknown keys, the model's
    shapes, finite values, the trainable weights complete (but for the frozen
    weights of ``init_cfg``), and every part it touches whole.
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
                 freeze_llm: bool = True,
                 generation_cfg: Optional[dict] = None,
                 save_frozen_weights: bool = False,
                 cache_frozen_features: bool = False,
                 llm_gradient_checkpointing: bool = False,
                 compile_generation: Union[bool, dict] = False,
                 parse_boxes: bool = False,
                 vision_dtype: Optional[str] = None,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None):
        if data_preprocessor is None:
            data_preprocessor = dict(
                type='MultiModalDataPreprocessor', mean=CLIP_MEAN, std=CLIP_STD, to_rgb=True)
        if isinstance(data_preprocessor, dict):
            data_preprocessor = MODELS.build(data_preprocessor)
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)

        self.template = get_template(template)
        self.max_txt_len = max_txt_len
        if not isinstance(caption_instruction, str) or not caption_instruction.strip():
            raise ValueError(f'model.caption_instruction must be a non-empty string, got '
                             f'{caption_instruction!r}.')
        self.caption_instruction = caption_instruction
        self.vqa_instruction = check_instruction_slot(vqa_instruction, 'model.vqa_instruction')
        self.generation_cfg = generation_cfg
        self.parse_boxes = parse_boxes

        self.vision_encoder = MODELS.build(vision_encoder)
        if vision_dtype is not None:
            if vision_dtype not in ('float16', 'bfloat16', 'float32'):
                raise ValueError("model.vision_dtype must be 'float16', 'bfloat16' or "
                                 f"'float32', got {vision_dtype!r}.")
            self.vision_encoder.to(getattr(torch, vision_dtype))
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

        self.frozen_modules = [self.vision_encoder, self.ln_vision]
        if freeze_llm:
            self.frozen_modules.append(self.llm)
        if self.neck is not None:
            self.frozen_modules.append(self.neck)
        for module in self.frozen_modules:
            module.requires_grad_(False)
            module.eval()
        for param in lora_parameters(self.llm):
            param.requires_grad_(True)
        if not save_frozen_weights:
            self._register_state_dict_hook(_drop_frozen_parameters)
            self.register_load_state_dict_post_hook(_ignore_missing_frozen_parameters)
        self.register_load_state_dict_pre_hook(_check_incoming_weights)
        self._loading_frozen_weights = False
        self._state_dict_full = False
        # Loading may change the frozen weights that cached features came from.
        self.register_load_state_dict_post_hook(_clear_feature_cache)

        self.feature_cache: Optional[FrozenFeatureCache] = None
        self.llm_gradient_checkpointing = False
        self.compile_generation: Union[bool, dict] = False
        self.set_frozen_feature_cache(cache_frozen_features)
        self.set_llm_gradient_checkpointing(llm_gradient_checkpointing)
        self.set_compile_generation(compile_generation)
        self.train(self.training)  # LoRA dropout in the model's mode, not the frozen LLM's

    # ------------------------------------------------------------------ settings
    @property
    def generation_cfg(self) -> dict:
        """Decoding settings of ``predict`` / ``generate`` (checked when set)."""
        return self._generation_cfg

    @generation_cfg.setter
    def generation_cfg(self, settings: Optional[dict]) -> None:
        checked = check_generation_settings(dict(settings or {}), 'model.generation_cfg')
        self._generation_cfg = {**DEFAULT_GENERATION_CFG, **checked}

    def set_frozen_feature_cache(self, enable: bool = True) -> None:
        """In training, keep each image's frozen features (ViT -> Q-Former output)
        by its ``img_path`` / ``image_id`` and skip the frozen encoder for images
        seen before; a fresh cache each time it is enabled.

        Only for pipelines without random augmentation (checked: changed pixels
        raise).
        """
        self.feature_cache = FrozenFeatureCache() if enable else None

    def set_llm_gradient_checkpointing(self, enable: bool = True) -> None:
        """Recompute the LLM's layer activations in the backward pass instead of
        keeping them: less memory, about one more LLM forward per step."""
        if enable == self.llm_gradient_checkpointing:
            return
        suffix = 'checkpointing_enable' if enable else 'checkpointing_disable'
        # transformers 5 names them activation_*, 4 gradient_*.
        switch = getattr(self.llm, 'activation_' + suffix, None) or getattr(
            self.llm, 'gradient_' + suffix)
        if enable:
            switch({'use_reentrant': False})
        else:
            switch()
        self.llm_gradient_checkpointing = enable
        self.train(self.training)

    def set_compile_generation(self, compile_generation: Union[bool, dict] = True) -> None:
        """Decode with a static KV cache and a ``torch.compile``-d LLM forward, on
        any device (transformers alone compiles only on CUDA). A dict is passed
        to ``transformers.CompileConfig`` (e.g. ``dict(mode='default')``). The
        first call per batch shape compiles (slow)."""
        if not isinstance(compile_generation, (bool, dict)):
            raise TypeError('model.compile_generation must be True, False or a dict of '
                            f'transformers.CompileConfig arguments, got {compile_generation!r}.')
        if isinstance(compile_generation, dict):
            CompileConfig(**compile_generation)  # unknown arguments fail here, not mid-generation
        self.compile_generation = compile_generation

    def frozen_parameter_names(self, prefix: str = '') -> set:
        """Names of the parameters that do not train."""
        return {prefix + name for name, p in self.named_parameters() if not p.requires_grad}

    def trainable_parameter_names(self) -> set:
        """Names of the parameters that train: the projection, the LLM's LoRA factors
        (``llm.lora``), the whole LLM without ``freeze_llm``."""
        return {name for name, p in self.named_parameters() if p.requires_grad}

    @property
    def num_image_tokens(self) -> int:
        """LLM tokens per image: 32 with the Q-Former; for the token-merge head, 64 at 224 px
        and 256 at 448 px (MiniGPT-v2)."""
        if self.neck is not None:
            tokens = self.neck.num_query_tokens
        else:
            tokens = 1 + self.vision_encoder.patch_embed.num_patches
        return self.head.num_output_tokens(tokens)

    @property
    def _no_split_modules(self) -> List[str]:
        """Classes that ``device_map`` placement (accelerate, as mmpretrain's
        ``get_model(..., device_map='auto')``) keeps whole on one device: the ViT
        blocks, the Q-Former layers and the LLM's decoder layers."""
        names = {type(block).__name__ for block in self.vision_encoder.blocks}
        if self.neck is not None:
            names |= {type(layer).__name__ for layer in self.neck.qformer.encoder.layer}
        names |= set(getattr(self.llm, '_no_split_modules', None) or [])
        return sorted(names)

    @property
    def context_length(self) -> int:
        """Tokens the LLM can attend to (prompt with image tokens, plus the answer)."""
        return self.llm.config.max_position_embeddings

    # ------------------------------------------------------------------ loading
    @contextlib.contextmanager
    def full_state_dict(self):
        """Within, ``state_dict`` holds the frozen weights too (e.g. for accelerate,
        which offloads a ``device_map``'s ``'cpu'`` / ``'disk'`` parts from it)."""
        self._state_dict_full = True
        try:
            yield self
        finally:
            self._state_dict_full = False

    @contextlib.contextmanager
    def loading_frozen_weights(self):
        """Within, a loaded state dict is the frozen weights: it must hold every
        frozen part but the LLM, and need not hold the trainable projection."""
        self._loading_frozen_weights = True
        try:
            yield self
        finally:
            self._loading_frozen_weights = False

    def init_weights(self):
        """MMEngine's init; an ``init_cfg`` ``Pretrained`` checkpoint is the frozen weights."""
        with self.loading_frozen_weights():
            super().init_weights()

    def train(self, mode: bool = True):
        """Frozen parts stay in eval mode (MiniGPT-4 never enables their dropout);
        LoRA dropout follows ``mode`` (officially the whole LoRA-wrapped LLM is
        in train mode, and LLaMA has no dropout of its own)."""
        super().train(mode)
        for module in self.frozen_modules:
            module.eval()
        for dropout in lora_dropouts(self.llm):
            dropout.train(mode)
        if self.llm_gradient_checkpointing:
            # transformers checkpoints a layer only when its own `training` flag is
            # set; the flag is set on the layer alone so no dropout below it turns on.
            for layer in self.llm.modules():
                if getattr(layer, 'gradient_checkpointing', False):
                    layer.training = mode
        return self

    def merge_lora(self) -> int:
        """Fold the LLM's LoRA into its weights for inference (see
        :func:`~.language_models.lora.merge_lora`): outputs stay the same, the
        LLM becomes a plain transformers model, and from then on only the
        projection trains and is saved.

        Returns:
            int: The number of layers merged.

        Raises:
            ValueError: If the LLM has no LoRA (``model.llm.lora`` unset).
        """
        merged = merge_lora(self.llm)
        if not merged:
            raise ValueError('MiniGPT4.merge_lora: the LLM has no LoRA (model.llm.lora is unset).')
        return merged

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
        # The parts may sit on different devices (device_map).
        return features if inverse is None else features[inverse.to(features.device)]

    def extract_image_tokens(self, images: torch.Tensor,
                             data_samples: Optional[List[DataSample]] = None) -> torch.Tensor:
        """images (B, 3, H, W) -> image_tokens (B, T, llm_hidden) in the LLM's dtype.

        T is 32 with the Q-Former, 64 (224 px) or 256 (448 px) for the token-merge head. With
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
    def prompt_token_ids(self, prompt: str,
                         with_image: bool = True) -> Tuple[List[int], List[int]]:
        """Ids before (BOS first) and after the image, each segment tokenized alone;
        without an image, the whole prompt comes before (and nothing after)."""
        if not with_image:
            return self.tokenizer.encode(prompt, add_bos=True), []
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
        # Padding is a zero vector (as the official batched generate) and is masked. The
        # embeddings may live on another device than the image tokens (device_map).
        is_text, is_image = is_text.to(embeds.device), is_image.to(embeds.device)
        embeds = embeds * is_text.unsqueeze(-1).to(embeds.dtype)
        embeds = embeds.masked_scatter(is_image.unsqueeze(-1),
                                       image_tokens.to(embeds.device, embeds.dtype))
        attention_mask = (is_text | is_image).long()
        return embeds, attention_mask

    # ------------------------------------------------------------------ loss
    def training_prompt(self, sample: DataSample, with_image: bool = True) -> str:
        """The sample's ``prompt``, else its ``instruction`` (a conversation's first
        question) with the image in the template, or in the template's text-only
        form ``without`` an image.

        Raises:
            KeyError: If a template with an instruction slot gets no instruction.
            ValueError: If the ``'pretrain'`` template gets one (it would be dropped),
                or a template without a text-only form gets no image.
        """
        if 'prompt' in sample:
            return sample.prompt
        if 'conversation' in sample:
            return build_instruction_prompt(self.template,
                                            check_conversation(sample.conversation)[0][0])
        if not with_image:
            if 'instruction' not in sample:
                raise KeyError('MiniGPT4.loss: a sample without an image needs an `instruction`.')
            return build_text_only_prompt(self.template, sample.instruction)
        has_slot = self.template.instruction_template is not None
        if has_slot != ('instruction' in sample):
            if has_slot:
                raise KeyError(
                    f'MiniGPT4.loss: template {self.template.name!r} needs an `instruction` in '
                    "every data sample: add dict(type='RandomInstruction') to the pipeline and "
                    "pack it (PackInputs(algorithm_keys=['instruction', 'gt_caption'])).")
            raise ValueError(
                f'MiniGPT4.loss: template {self.template.name!r} takes no instruction (stage 1: '
                'the image tokens come first), but the data samples have one: remove '
                'RandomInstruction from the pipeline or set model.template.')
        return build_instruction_prompt(self.template, sample.get('instruction', ''))

    def training_target(self, sample: DataSample) -> Tuple[List[int], List[int]]:
        """The ids after a training sample's prompt, and their labels.

        One turn: ``answer + end_sym``, all targets. A conversation: each answer
        + ``end_sym`` (targets), each later question written by
        :func:`~mmpretrain_minigpt4.conversation.build_followup_prompt`
        between them (-100), as the official ``tokenize_conversation``. Both
        are truncated to ``max_txt_len`` tokens as a whole.
        """
        if 'conversation' in sample:
            ids, labels = [], []
            for number, (question, answer) in enumerate(check_conversation(sample.conversation)):
                if number:
                    question_ids = self.tokenizer.encode(
                        build_followup_prompt(self.template, question))
                    ids += question_ids
                    labels += [IGNORE_INDEX] * len(question_ids)
                answer_ids = self.tokenizer.encode(answer + self.template.end_sym)
                ids += answer_ids
                labels += self.target_labels(answer_ids)
            return ids[:self.max_txt_len], labels[:self.max_txt_len]
        answer = sample.get('answer', sample.get('gt_caption'))
        if not isinstance(answer, str):
            raise KeyError('MiniGPT4.loss needs the target text in every data sample: an '
                           '`answer`, a `gt_caption` or a `conversation` (pack it with '
                           "PackInputs(algorithm_keys=[..., 'gt_caption'])).")
        target = self.target_token_ids(answer)
        return target, self.target_labels(target)

    def build_training_inputs(self, image_tokens: torch.Tensor, data_samples: List[DataSample]):
        """Right-padded LLM inputs and labels for a training batch.

        Per sample: ``[BOS] prompt-before [image] prompt-after target`` (see
        :meth:`training_target`); labels are -100 everywhere but on the answer
        tokens.

        Args:
            image_tokens (B, T, D): From :meth:`extract_image_tokens`; T is 0 for
                a batch without images (text-only prompts).
            data_samples (list[DataSample]): With ``answer`` (or
                ``gt_caption``) and an ``instruction`` (or ``prompt``), or a
                ``conversation``; see :meth:`training_prompt`.

        Returns:
            tuple: ``inputs_embeds (B, L, D)``, ``attention_mask (B, L)``,
            ``labels (B, L)``.
        """
        with_image = image_tokens.shape[1] > 0
        segments, targets = [], []
        for sample in data_samples:
            before, after = self.prompt_token_ids(self.training_prompt(sample, with_image),
                                                  with_image)
            target, labels = self.training_target(sample)
            segments.append((before, after + target))
            targets.append(labels)
        embeds, attention_mask = self.embed_sequences(segments, image_tokens, left_pad=False)
        lengths = [len(b) + image_tokens.shape[1] + len(a) for b, a in segments]
        total = max(lengths)
        labels = [[IGNORE_INDEX] * (length - len(target)) + target + [IGNORE_INDEX] *
                  (total - length) for target, length in zip(targets, lengths)]
        return embeds, attention_mask, torch.tensor(labels, dtype=torch.long, device=embeds.device)

    def no_image_tokens(self, batch_size: int) -> torch.Tensor:
        """(B, 0, D): the image tokens of a batch without images."""
        embedding = self.llm.get_input_embeddings().weight
        return embedding.new_zeros(batch_size, 0, embedding.shape[1])

    def loss(self, images: Optional[torch.Tensor], data_samples: List[DataSample]) -> dict:
        """Token-mean cross-entropy of the targets (``answer + end_sym``) given the image
        (None for a text-only batch) and prompt."""
        if images is None:
            image_tokens = self.no_image_tokens(len(data_samples))
        else:
            image_tokens = self.extract_image_tokens(images, data_samples)
        embeds, attention_mask, labels = self.build_training_inputs(image_tokens, data_samples)
        # No KV cache: training never reuses it.
        hidden = self.llm.get_decoder()(
            inputs_embeds=embeds, attention_mask=attention_mask, use_cache=False).last_hidden_state
        # Logits only where the next token is a target: the same loss, far less work.
        next_labels = labels[:, 1:].to(hidden.device)
        is_target = next_labels != IGNORE_INDEX
        logits = self.llm.get_output_embeddings()(hidden[:, :-1][is_target]).float()
        return dict(loss=F.cross_entropy(logits, next_labels[is_target].to(logits.device)))

    # ------------------------------------------------------------------ predict
    def prediction_prompt(self, sample: DataSample) -> str:
        """The sample's ``prompt``, else the template's prediction prompt around its
        question (through ``vqa_instruction``), its instruction, or the caption
        instruction.

        Raises:
            ValueError: For an empty question, or a question to a template
                without an instruction slot (it would be dropped).
        """
        if 'prompt' in sample:
            return sample.prompt
        if 'question' in sample:
            if self.template.instruction_template is None:
                raise ValueError(f'Template {self.template.name!r} has no place for a question '
                                 '(a stage-1 model only captions); use a stage-2 model.')
            instruction = self.vqa_instruction.format(check_question(sample.question))
        else:
            instruction = sample.get('instruction', self.caption_instruction)
        return build_prediction_prompt(self.template, instruction)

    def generation_settings(self, overrides: Optional[dict] = None,
                            source: str = 'generation settings') -> dict:
        """``generation_cfg`` updated with ``overrides``, checked."""
        return check_generation_settings({**self.generation_cfg, **(overrides or {})}, source)

    def prompt_length(self, prompt: str) -> int:
        """Tokens of ``prompt`` with the image tokens in place of ``<ImageHere>``."""
        before, after = self.prompt_token_ids(prompt)
        return len(before) + self.num_image_tokens + len(after)

    def check_prompt_lengths(self, prompts: Sequence[str], max_new_tokens: int,
                             source: str = 'MiniGPT4') -> List[Tuple[List[int], List[int]]]:
        """Each prompt (image tokens included) plus ``max_new_tokens`` must fit
        :attr:`context_length`; checked before any image is encoded.

        Returns:
            list: The prompts' token ids before and after the image.
        """
        segments = [self.prompt_token_ids(prompt) for prompt in prompts]
        lengths = [len(before) + self.num_image_tokens + len(after) for before, after in segments]
        check_context_length(lengths, max_new_tokens, self.context_length, source)
        return segments

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
                they are generated (transformers' streamer protocol; greedy or
                sampling, not beam search).
            **generation_overrides: Override ``generation_cfg`` for this call
                (checked like it).

        Returns:
            list[str]: The answers, cut at the template's stop strings.

        Raises:
            ValueError: For bad settings, a prompt that does not fit the
                LLM's context, or a streamer with ``num_beams > 1``; before
                any generation.
        """
        if len(prompts) != image_tokens.shape[0]:
            raise ValueError(f'MiniGPT4.generate: {len(prompts)} prompts for '
                             f'{image_tokens.shape[0]} images.')
        generation_cfg = self.generation_settings(generation_overrides, 'MiniGPT4.generate')
        if streamer is not None and generation_cfg.get('num_beams', 1) > 1:
            raise ValueError('MiniGPT4.generate: answers stream with num_beams=1 only '
                             '(transformers cannot stream beam search).')
        segments = self.check_prompt_lengths(prompts, generation_cfg['max_new_tokens'],
                                             'MiniGPT4.generate')
        embeds, attention_mask = self.embed_sequences(segments, image_tokens, left_pad=True)
        tokenizer = self.tokenizer
        if self.compile_generation:
            generation_cfg.update(cache_implementation='static',
                                  compile_config=compiled_decoding_config(self.compile_generation))
        logits_processor = repetition_penalty_processor(generation_cfg)
        config = GenerationConfig(
            **generation_cfg,
            bos_token_id=tokenizer.bos_id,
            eos_token_id=tokenizer.eos_id,
            pad_token_id=tokenizer.pad_id)
        stops = [self.template.end_sym, self.template.sep]
        stopping = StoppingCriteriaList([StopOnText(stops, tokenizer.decode)])
        output_ids = self.llm.generate(
            # The (empty) history on the embeddings' device: transformers 4 would put it
            # on the LLM's first parameter's device, 'meta' when device_map offloads it.
            input_ids=embeds.new_empty((embeds.shape[0], 0), dtype=torch.long),
            inputs_embeds=embeds,
            attention_mask=attention_mask,
            generation_config=config,
            logits_processor=logits_processor,
            stopping_criteria=stopping,
            streamer=streamer)
        return [strip_generated_text(tokenizer.decode(ids), self.template) for ids in output_ids]

    @torch.no_grad()
    def candidate_scores(self, image_tokens: torch.Tensor, prompts: Sequence[str],
                         candidates: Sequence[Sequence[str]]) -> List[List[float]]:
        """Score each candidate as the answer to its prompt; the lowest score is the
        best (the official ``multi_select``, used for IconQA).

        A candidate's score is the cross-entropy of ``candidate + end_sym``
        summed over its tokens and divided by the whole sequence's length
        minus one, as the official ``reduction='none'`` loss (a mean over every
        position of the row, prompt included). Officially the rows of a batch
        share their padded length, so a score depended on the other questions
        of the batch; here each row has its own length, which equals the
        official score at batch size 1.

        Args:
            image_tokens (B, T, D): From :meth:`extract_image_tokens`.
            prompts (Sequence[str]): One prompt per image.
            candidates (Sequence[Sequence[str]]): Per image, its candidate answers.

        Returns:
            list[list[float]]: Per image, one score per candidate.
        """
        rows = [(index, candidate) for index, choices in enumerate(candidates)
                for candidate in choices]
        prompt_ids = [self.prompt_token_ids(prompt) for prompt in prompts]
        scores = [[] for _ in prompts]
        # As many rows per forward as the batch has images (the official memory use).
        for start in range(0, len(rows), max(1, len(prompts))):
            chunk = rows[start:start + len(prompts)]
            segments, targets = [], []
            for index, candidate in chunk:
                before, after = prompt_ids[index]
                target = self.target_token_ids(candidate)
                segments.append((before, after + target))
                targets.append(self.target_labels(target))
            chunk_images = image_tokens[[index for index, _ in chunk]]
            embeds, attention_mask = self.embed_sequences(segments, chunk_images, left_pad=False)
            hidden = self.llm.get_decoder()(
                inputs_embeds=embeds, attention_mask=attention_mask,
                use_cache=False).last_hidden_state
            num_image_tokens = chunk_images.shape[1]
            for row, ((before, after), target, (index, _)) in enumerate(
                    zip(segments, targets, chunk)):
                length = len(before) + num_image_tokens + len(after)
                first = length - len(target)  # position of the first target token
                # Logits only where the next token is a target (as in `loss`).
                logits = self.llm.get_output_embeddings()(hidden[row, first - 1:length - 1])
                total = F.cross_entropy(logits.float(), torch.tensor(target, device=logits.device),
                                        ignore_index=IGNORE_INDEX, reduction='sum')
                scores[index].append(total.item() / (length - 1))
        return scores

    def predict(self, images: torch.Tensor,
                data_samples: Optional[List[DataSample]] = None) -> List[DataSample]:
        """Caption or answer every image; fills ``pred_caption`` or ``pred_answer``
        (and with ``parse_boxes`` the box fields); a sample with ``candidates`` gets
        its best candidate instead of a generated answer.

        Prompts, settings and lengths are checked before any image is encoded.
        """
        if data_samples is None:
            data_samples = [DataSample() for _ in range(images.shape[0])]
        prompts = [self.prediction_prompt(sample) for sample in data_samples]
        ranked = [i for i, sample in enumerate(data_samples) if 'candidates' in sample]
        generated = [i for i in range(len(data_samples)) if i not in ranked]
        candidates = {i: check_candidates(data_samples[i].candidates, i) for i in ranked}
        settings = self.generation_settings(source='model.generation_cfg')
        if generated:
            self.check_prompt_lengths([prompts[i] for i in generated],
                                      settings['max_new_tokens'], 'MiniGPT4.predict')
        for i in ranked:
            longest = max(len(self.target_token_ids(c)) for c in candidates[i])
            self.check_prompt_lengths([prompts[i]], longest, 'MiniGPT4.predict (candidates)')
        image_tokens = self.extract_image_tokens(images)
        if ranked:
            scores = self.candidate_scores(image_tokens[ranked], [prompts[i] for i in ranked],
                                           [candidates[i] for i in ranked])
            for i, row_scores in zip(ranked, scores):
                best = min(range(len(row_scores)), key=row_scores.__getitem__)
                sample = data_samples[i]
                sample.pred_candidate_scores = row_scores
                sample.pred_candidate_index = best
                sample.pred_answer = candidates[i][best]
        if generated:
            texts = self.generate(image_tokens[generated], [prompts[i] for i in generated])
            for i, text in zip(generated, texts):
                sample = data_samples[i]
                if 'question' in sample:
                    sample.pred_answer = text
                else:
                    sample.pred_caption = text
                if self.parse_boxes:
                    set_predicted_boxes(sample, text)
        return data_samples


def check_candidates(candidates, position: int) -> List[str]:
    """A sample's ``candidates`` as a non-empty list of non-empty strings, else ValueError."""
    if (isinstance(candidates, str) or not isinstance(candidates, Sequence) or not candidates
            or not all(isinstance(c, str) and c.strip() for c in candidates)):
        raise ValueError(f'Sample {position}: `candidates` must be a non-empty list of '
                         f'non-empty strings, got {candidates!r}.')
    return list(candidates)


def set_predicted_boxes(sample: DataSample, text: str) -> None:
    """Read the boxes of ``text`` into ``pred_bboxes`` (N, 4) (pixels of the original
    image), ``pred_phrases`` and ``pred_box_problems``.

    Raises:
        KeyError: If the sample has no ``ori_shape`` (the grid is relative to it).
    """
    if 'ori_shape' not in sample:
        raise KeyError('MiniGPT4 with parse_boxes needs each sample\'s `ori_shape` (height, '
                       "width) to put boxes in pixels: keep 'ori_shape' in the PackInputs "
                       'meta_keys of the pipeline.')
    height, width = sample.ori_shape[:2]
    answer = parse_grounded_text(text, (width, height))
    sample.pred_bboxes = torch.tensor(answer.boxes, dtype=torch.float32).reshape(-1, 4)
    sample.pred_phrases = [phrase.text for phrase in answer.phrases for _ in phrase.boxes]
    sample.pred_box_problems = answer.problems


def repetition_penalty_processor(generation_cfg: dict) -> LogitsProcessorList:
    """Take ``repetition_penalty`` out of ``generation_cfg`` (in place) into a processor
    that penalises every generated token of each row, as transformers 4 (and the
    official code) do when generating from embeddings.

    transformers 5 builds its own with ``prompt_ignore_length`` set to each
    row's left padding; from embeddings, the token history holds only generated
    tokens, so a padded row would go unpenalised for its first
    padding-length tokens and a batch would answer otherwise than one by one.
    """
    penalty = generation_cfg.pop('repetition_penalty', 1.0)
    if penalty == 1.0:
        return LogitsProcessorList()
    return LogitsProcessorList([RepetitionPenaltyLogitsProcessor(penalty)])


def compiled_decoding_config(compile_generation: Union[bool, dict]) -> CompileConfig:
    """The ``CompileConfig`` of :meth:`MiniGPT4.set_compile_generation`."""
    config = CompileConfig(**(compile_generation if isinstance(compile_generation, dict) else {}))
    # transformers compiles decoding only on CUDA unless this (unexported) flag
    # is set; it has no public switch.
    config._compile_all_devices = True
    return config


def _drop_frozen_parameters(model: MiniGPT4, state_dict: dict, prefix: str, local_metadata):
    """State-dict hook: keep only trainable parameters and buffers (a quantized LLM's
    extra state, such as its 8-bit scales, belongs to its frozen weights)."""
    if model._state_dict_full:
        return state_dict
    kept = {prefix + name for name, p in model.named_parameters() if p.requires_grad}
    kept |= {prefix + name for name, _ in model.named_buffers()}
    for name in [key for key in state_dict if key.startswith(prefix) and key not in kept]:
        del state_dict[name]
    return state_dict


def _check_incoming_weights(model: MiniGPT4, state_dict, prefix, local_metadata, strict,
                            missing_keys, unexpected_keys, error_msgs) -> None:
    """Load pre-hook: refuse a state dict that does not fit (see :func:`check_weights_fit`)."""
    own = strip_prefix(state_dict, prefix)
    expected = {name: value.shape for name, value in
                [*model.named_parameters(), *model.named_buffers()]}
    frozen = model.frozen_parameter_names()
    if model._loading_frozen_weights:
        required = {name for name in frozen if part_of(name) != 'llm'}
    else:
        required = model.trainable_parameter_names()
    source = checkpoint_source(own) or 'The state dict'
    check_weights_fit(own, expected, required, frozen, source)


def _ignore_missing_frozen_parameters(model: MiniGPT4, incompatible_keys) -> None:
    """Load hook: frozen weights come from their own files, not from checkpoints."""
    frozen = model.frozen_parameter_names()
    missing = [key for key in incompatible_keys.missing_keys if key not in frozen]
    incompatible_keys.missing_keys[:] = missing


def _clear_feature_cache(model: MiniGPT4, incompatible_keys) -> None:
    """Load hook: cached frozen features may come from the old frozen weights."""
    if model.feature_cache is not None:
        model.feature_cache.clear()
