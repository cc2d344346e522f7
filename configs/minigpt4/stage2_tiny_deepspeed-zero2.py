# The tiny stage 2 with DeepSpeed ZeRO-2 (CPU: gloo):
# tools/dist_train.sh configs/minigpt4/stage2_tiny_deepspeed-zero2.py 2
_base_ = ['./stage2_tiny.py', './_base_/strategies/deepspeed_zero2.py']

optim_wrapper = dict(type='DeepSpeedOptimWrapper')
