# MiniGPT-4 stage 1 with Llama-2-7B-chat (token-merge projection, no Q-Former).
_base_ = [
    './_base_/models/minigpt4_llama2-chat-7b.py',
    './_base_/datasets/image_text_pairs.py',
    './_base_/schedules/stage1_pretrain.py',
]

model = dict(template='pretrain', max_txt_len=32)
