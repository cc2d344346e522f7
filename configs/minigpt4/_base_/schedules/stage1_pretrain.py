# Official stage 1: AdamW (weight decay 0.05, none on biases and 1-D parameters);
# lr warmed up linearly from 1e-6 to 1e-4 over 5,000 iterations, then a cosine to
# 8e-5 over all 4 x 5,000 iterations counted from step 0 (no restart after the
# warm-up); one checkpoint per official "epoch" of 5,000 iterations. Includes the
# runtime, whose hooks it changes (iteration-based checkpoints).
_base_ = ['../default_runtime.py']

optim_wrapper = dict(
    type='OptimWrapper',
    # One summary line of what trains instead of a warning per frozen tensor.
    constructor='TrainableParametersOptimWrapperConstructor',
    optimizer=dict(type='AdamW', lr=1e-4, betas=(0.9, 0.999), weight_decay=0.05),
    paramwise_cfg=dict(bias_decay_mult=0., norm_decay_mult=0., flat_decay_mult=0.))
param_scheduler = [
    dict(type='LinearWarmupCosineLR', warmup_iters=5000, warmup_start_lr=1e-6, eta_min=8e-5,
         begin=0, end=20000, by_epoch=False),
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=20000)
default_hooks = dict(checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=5000))
log_processor = dict(by_epoch=False)
# The official global batch: 4 GPUs x 64 (for --auto-scale-lr).
auto_scale_lr = dict(enable=False, base_batch_size=256)
