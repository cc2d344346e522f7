# MiniGPT-4 stage 1 with Vicuna-13B (projection 768 -> 5120).
_base_ = [
    './_base_/models/minigpt4_vicuna-13b.py',
    './_base_/datasets/image_text_pairs.py',
    './_base_/schedules/stage1_pretrain.py',
]

model = dict(template='pretrain', max_txt_len=32)
