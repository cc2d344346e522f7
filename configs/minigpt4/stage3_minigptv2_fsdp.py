# MiniGPT-v2 stage 3 (Llama-2-7B-chat + LoRA), FSDP over N GPUs (docs/training.md):
# tools/dist_train.sh configs/minigpt4/stage3_minigptv2_fsdp.py N
_base_ = ['./stage3_minigptv2.py', './_base_/strategies/fsdp.py']
