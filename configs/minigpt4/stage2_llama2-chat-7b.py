# MiniGPT-4 stage 2 with Llama-2-7B-chat: prompts in the Llama-2 template
# ('[INST] ... [/INST] ', answers end with '</s>'), from its stage-1 checkpoint.
_base_ = [
    './_base_/models/minigpt4_llama2-chat-7b.py',
    './_base_/datasets/cc_sbu_align.py',
    './_base_/schedules/stage2_finetune.py',
]
load_from = '{{$MINIGPT4_STAGE1_CHECKPOINT:work_dirs/stage1_pretrain_llama2-chat-7b/iter_20000.pth}}'
