# MiniGPT-4 with Vicuna-7B v0: EVA ViT-g/14 (39 blocks) -> ln_vision -> BLIP-2
# Q-Former (32 queries) -> Linear(768, 4096) -> Vicuna-7B (frozen, fp16).
# The LLM directory comes from $MINIGPT4_VICUNA_7B (or `model.llm.name_or_path`);
# its tokenizer.model is used unless `model.tokenizer` is set.
model = dict(
    type='MiniGPT4',
    vision_encoder=dict(type='EVAViT', img_size=224),
    neck=dict(type='QFormerNeck', num_query_tokens=32, encoder_width=1408),
    head=dict(type='LinearProjectionHead', in_channels=768, out_channels=4096),
    llm=dict(
        type='HFCausalLM',
        name_or_path='{{$MINIGPT4_VICUNA_7B:checkpoints/vicuna-7b}}',
        dtype='float16'),
    template='vicuna_v0',
    max_txt_len=160,
    generation_cfg=dict(max_new_tokens=300, num_beams=1, do_sample=False),
    # Training: the frozen ViT, ln_vision and Q-Former, converted without
    # --minigpt4 (docs/training.md). The Runner loads them when it initialises
    # the model, before load_from / --resume (which hold the projection only);
    # inference loads one full checkpoint instead and never runs this.
    init_cfg=dict(
        type='Pretrained',
        checkpoint='{{$MINIGPT4_FROZEN_CKPT:checkpoints/minigpt4_frozen_eva-vit-g_qformer.pth}}'))
