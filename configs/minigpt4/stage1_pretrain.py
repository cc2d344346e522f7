# MiniGPT-4 stage 1 with Vicuna-7B: only the projection trains, on LAION + CC/SBU
# pairs. No prompt: [BOS] [32 image tokens] caption "\n", captions cut at 32 tokens.
_base_ = [
    './_base_/models/minigpt4_vicuna-7b.py',
    './_base_/datasets/image_text_pairs.py',
    './_base_/schedules/stage1_pretrain.py',
]

# The frozen ViT (and Q-Former): converted without --minigpt4 (docs/training.md);
# loaded at init, before load_from / --resume, which hold the projection only.
model = dict(
    template='pretrain',
    max_txt_len=32,
    init_cfg=dict(type='Pretrained', checkpoint='{{$MINIGPT4_FROZEN_CKPT:checkpoints/minigpt4_frozen_eva-vit-g_qformer.pth}}'))
