# MiniGPT-4 stage 1 with Vicuna-13B, DeepSpeed ZeRO-2 over N GPUs (docs/training.md):
# tools/dist_train.sh configs/minigpt4/stage1_pretrain_vicuna-13b_deepspeed-zero2.py N
_base_ = ['./stage1_pretrain_vicuna-13b.py', './_base_/strategies/deepspeed_zero2.py']

optim_wrapper = dict(type='DeepSpeedOptimWrapper')
