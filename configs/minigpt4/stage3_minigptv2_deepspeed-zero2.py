# MiniGPT-v2 stage 3 (Llama-2-7B-chat + LoRA), DeepSpeed ZeRO-2 over N GPUs (docs/training.md):
# tools/dist_train.sh configs/minigpt4/stage3_minigptv2_deepspeed-zero2.py N
_base_ = ['./stage3_minigptv2.py', './_base_/strategies/deepspeed_zero2.py']

optim_wrapper = dict(type='DeepSpeedOptimWrapper')
