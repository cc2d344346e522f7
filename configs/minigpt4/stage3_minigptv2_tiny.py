# MiniGPT-v2 stage 3 at CPU size: the tiny v2 model on the mini splits of all 22
# datasets shipped in tests/data/minigptv2_train (official formats; RefCOCO+ and
# RefCOCOg read the RefCOCO files), at most 2 samples per batch, a 12-iteration
# schedule of the official shape at a larger lr.
_base_ = [
    './_base_/models/minigptv2_tiny.py',
    './_base_/datasets/minigptv2_stage3_mixture.py',
    './_base_/schedules/stage3_finetune.py',
]

mini_data = 'tests/data/minigptv2_train'
refcoco_files = dict(ann_file='refcoco_annotations/refcoco/refs(unc).p',
                     instances_file='refcoco_annotations/refcoco/instances.json')


def _tiny(dataset):
    dataset = dict(dataset, data_root=mini_data)
    if 'instances_file' in dataset:
        dataset.update(refcoco_files)
    return dataset


train_dataloader = dict(
    num_workers=0,
    persistent_workers=False,
    batch_sampler=dict(batch_sizes=[min(size, 2) for _, size, _ in _base_.mixture]),
    dataset=dict(datasets=[_tiny(dataset) for dataset, _, _ in _base_.mixture]))
optim_wrapper = dict(optimizer=dict(lr=1e-2))
param_scheduler = [dict(_base_.param_scheduler[0], warmup_iters=2, warmup_start_lr=1e-5,
                        eta_min=3e-3, end=12)]
train_cfg = dict(max_iters=12)
default_hooks = dict(checkpoint=dict(interval=4), logger=dict(interval=1))
