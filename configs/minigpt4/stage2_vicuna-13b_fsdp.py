# MiniGPT-4 stage 2 with Vicuna-13B, FSDP over N GPUs (docs/training.md):
# tools/dist_train.sh configs/minigpt4/stage2_vicuna-13b_fsdp.py N
_base_ = ['./stage2_vicuna-13b.py', './_base_/strategies/fsdp.py']
