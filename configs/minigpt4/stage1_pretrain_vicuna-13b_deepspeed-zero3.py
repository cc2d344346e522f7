# MiniGPT-4 stage 1 with Vicuna-13B, DeepSpeed ZeRO-3 over N GPUs (docs/training.md):
# tools/dist_train.sh configs/minigpt4/stage1_pretrain_vicuna-13b_deepspeed-zero3.py N
_base_ = ['./stage1_pretrain_vicuna-13b.py', './_base_/strategies/deepspeed_zero3.py']

optim_wrapper = dict(type='DeepSpeedOptimWrapper')
