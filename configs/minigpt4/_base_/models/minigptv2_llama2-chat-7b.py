# MiniGPT-v2: EVA ViT-g/14 at 448 px -> ln_vision -> CLS dropped, 4 consecutive
# patch tokens merged (1024 -> 256 tokens of 5632 dims) -> Linear(5632, 4096) ->
# Llama-2-7B-chat (fp16, frozen) with LoRA on q_proj / v_proj (r 64, alpha 16,
# scaling 0.25, dropout 0.05), as minigptv2_finetune.yaml. The projection and the
# LoRA factors train; checkpoints hold only them.
_base_ = ['./minigpt4_llama2-chat-7b.py']

model = dict(
    vision_encoder=dict(img_size=448),
    llm=dict(lora=dict(r=64, alpha=16, dropout=0.05, target_modules=['q_proj', 'v_proj'])),
    template='minigptv2',
    max_txt_len=1024,
    # The frozen ViT converted at 448 px (--img-size 448: pos_embed interpolated
    # from the 224-px EVA weights as the official loader does) and ln_vision.
    init_cfg=dict(
        checkpoint='{{$MINIGPT4_FROZEN_CKPT:checkpoints/minigptv2_frozen_eva-vit-g_448.pth}}'))
