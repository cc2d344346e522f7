# MiniGPT-4 stage 2 with Vicuna-13B, from its stage-1 checkpoint.
_base_ = [
    './_base_/models/minigpt4_vicuna-13b.py',
    './_base_/datasets/cc_sbu_align.py',
    './_base_/schedules/stage2_finetune.py',
]

load_from = '{{$MINIGPT4_STAGE1_CHECKPOINT:work_dirs/stage1_pretrain_vicuna-13b/iter_20000.pth}}'
