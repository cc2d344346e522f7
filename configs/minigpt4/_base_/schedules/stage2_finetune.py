# Official stage 2: the stage-1 optimiser with lr 3e-5, warmed up linearly from
# 1e-6 over 200 iterations, then a cosine to 1e-5 over all 5 x 200 iterations
# (no restart after the warm-up); one checkpoint per official "epoch" of 200.
_base_ = ['./stage1_pretrain.py']

optim_wrapper = dict(optimizer=dict(lr=3e-5))
param_scheduler = [
    dict(type='LinearWarmupCosineLR', warmup_iters=200, warmup_start_lr=1e-6, eta_min=1e-5,
         begin=0, end=1000, by_epoch=False),
]
train_cfg = dict(max_iters=1000)
default_hooks = dict(checkpoint=dict(interval=200))
# The official global batch: 1 GPU x 12.
auto_scale_lr = dict(base_batch_size=12)
