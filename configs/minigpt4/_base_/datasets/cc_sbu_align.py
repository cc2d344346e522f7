# Stage-2 cc_sbu_align (~3,500 detailed descriptions): filter_cap.json + image/{id}.jpg.
# Each sample gets one of the four official alignment instructions at random; the
# model wraps it in its conversation template (`model.template`, the one place it is set).
train_pipeline = [
    dict(type='Resize', scale=(224, 224), keep_ratio=False, interpolation='bicubic',
         backend='pillow'),
    dict(type='RandomInstruction'),
    dict(type='PackInputs', algorithm_keys=['instruction', 'gt_caption'],
         meta_keys=['sample_idx', 'image_id', 'img_path']),
]
train_dataloader = dict(
    batch_size=12,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=dict(type='CCSBUAlignDataset', data_root='data/cc_sbu_align',
                 pipeline=train_pipeline))
