# Stage 2 at CPU size: the tiny model on the mini cc_sbu_align shipped in
# tests/data, 2 pairs per batch, a 12-iteration schedule with the official shape
# (warm-up then cosine) at a larger lr.
_base_ = [
    './_base_/models/minigpt4_tiny.py',
    './_base_/datasets/cc_sbu_align.py',
    './_base_/schedules/stage2_finetune.py',
]

train_dataloader = dict(
    batch_size=2,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(data_root='tests/data/minigpt4_mini/cc_sbu_align'))
optim_wrapper = dict(optimizer=dict(lr=1e-2))
param_scheduler = [dict(_base_.param_scheduler[0], warmup_iters=2, warmup_start_lr=1e-5,
                        eta_min=3e-3, end=12)]
train_cfg = dict(max_iters=12)
default_hooks = dict(checkpoint=dict(interval=4), logger=dict(interval=1))
