# Stage-1 image-caption pairs: LAION-115M and CC3M/CC12M/SBU with BLIP synthetic
# captions, in the webdataset tar shards img2dataset writes ({key}.jpg + {key}.json),
# read in place through a cached index. Every batch comes from ONE source, drawn
# with probability 115 : 14 (the official sample_ratio); 64 pairs per GPU.
# Captions: the official blip_caption cleaning; no instruction in stage 1 (the model's
# 'pretrain' template puts the image tokens first).
train_pipeline = [
    dict(type='Resize', scale=(224, 224), keep_ratio=False, interpolation='bicubic',
         backend='pillow'),
    dict(type='BlipCaption', keys='gt_caption', max_words=50),
    dict(type='PackInputs', algorithm_keys=['gt_caption'],
         meta_keys=['sample_idx', 'shard', 'sample_key']),
]
laion = dict(
    type='ImageTextShardDataset', data_root='data/laion_dataset', shards='*.tar',
    pipeline=train_pipeline)
cc_sbu = dict(
    type='ImageTextShardDataset', data_root='data/cc_sbu_dataset', shards='*.tar',
    pipeline=train_pipeline)

train_dataloader = dict(
    batch_size=64,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    batch_sampler=dict(type='SourceRatioBatchSampler', ratios=[115, 14]),
    collate_fn=dict(type='default_collate'),
    dataset=dict(type='ConcatDataset', datasets=[laion, cc_sbu]))
