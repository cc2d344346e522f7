# MiniGPT-4 stage 2 with Vicuna-7B: the stage-1 projection fine-tuned on
# cc_sbu_align in the Vicuna v0 template ('###Human: ... ###Assistant: ', answers
# end with '###', cut at 160 tokens). Start from your stage-1 checkpoint:
# $MINIGPT4_STAGE1_CHECKPOINT or --cfg-options load_from=...
_base_ = [
    './_base_/models/minigpt4_vicuna-7b.py',
    './_base_/datasets/cc_sbu_align.py',
    './_base_/schedules/stage2_finetune.py',
]

load_from = '{{$MINIGPT4_STAGE1_CHECKPOINT:work_dirs/stage1_pretrain/iter_20000.pth}}'
