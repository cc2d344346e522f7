# MiniGPT-4 stage 1 with Vicuna-13B, FSDP over N GPUs (docs/training.md):
# tools/dist_train.sh configs/minigpt4/stage1_pretrain_vicuna-13b_fsdp.py N
_base_ = ['./stage1_pretrain_vicuna-13b.py', './_base_/strategies/fsdp.py']
