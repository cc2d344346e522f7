# MiniGPT-v2 stage 3 (minigptv2_finetune.yaml): the 448-px token-merge projection
# and the LoRA of Llama-2-7B-chat fine-tuned on the official multi-task mixture
# (22 datasets under data/minigptv2, per-dataset batch sizes and sample ratios),
# 1024 tokens per answer, 50 x 1,000 iterations. Start from the stage-2 checkpoint
# (official: the released minigptv2 stage-2 file converted with --keep-lora):
# $MINIGPTV2_STAGE2_CHECKPOINT or --cfg-options load_from=...
_base_ = [
    './_base_/models/minigptv2_llama2-chat-7b.py',
    './_base_/datasets/minigptv2_stage3_mixture.py',
    './_base_/schedules/stage3_finetune.py',
]

load_from = '{{$MINIGPTV2_STAGE2_CHECKPOINT:checkpoints/minigptv2_stage2.pth}}'
