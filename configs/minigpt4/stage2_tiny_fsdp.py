# The tiny stage 2 with FSDP: tools/dist_train.sh configs/minigpt4/stage2_tiny_fsdp.py 2
# (on CPU the processes use gloo).
_base_ = ['./stage2_tiny.py', './_base_/strategies/fsdp.py']
