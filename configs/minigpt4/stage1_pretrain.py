# MiniGPT-4 stage 1 with Vicuna-7B: only the projection trains, on LAION + CC/SBU
# pairs. No prompt: [BOS] [32 image tokens] caption "\n", captions cut at 32 tokens.
_base_ = [
    './_base_/models/minigpt4_vicuna-7b.py',
    './_base_/datasets/image_text_pairs.py',
    './_base_/schedules/stage1_pretrain.py',
]

model = dict(template='pretrain', max_txt_len=32)
