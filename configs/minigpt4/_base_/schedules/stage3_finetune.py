# Official MiniGPT-v2 stage 3 (minigptv2_finetune.yaml): the stage-1 optimiser
# (AdamW, weight decay 0.05) with lr 1e-5, warmed up linearly from 1e-6 over 1,000
# iterations, then a cosine to 1e-6 over all 50 x 1,000 iterations (the paper
# says 35k, Vision-CAIR/MiniGPT-4#450; the released config runs 50k); one
# checkpoint per official "epoch" of 1,000 iterations.
_base_ = ['./stage1_pretrain.py']

optim_wrapper = dict(optimizer=dict(lr=1e-5))
param_scheduler = [
    dict(type='LinearWarmupCosineLR', warmup_iters=1000, warmup_start_lr=1e-6, eta_min=1e-6,
         begin=0, end=50000, by_epoch=False),
]
train_cfg = dict(max_iters=50000)
default_hooks = dict(checkpoint=dict(interval=1000))
# The official global batch is per dataset (2 to 6 per GPU); auto_scale_lr stays off.
auto_scale_lr = dict(base_batch_size=6)
