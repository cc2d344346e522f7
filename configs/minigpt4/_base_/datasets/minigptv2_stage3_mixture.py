# MiniGPT-v2 stage 3: the official multi-task mixture (minigptv2_finetune.yaml),
# every dataset read from its official annotation files under one data folder
# laid out as the official dataset/README_MINIGPTv2_FINETUNE.md (each dataset's
# default files are relative to it; see mmpretrain_minigpt4/datasets/minigptv2/).
# Every batch comes from ONE dataset, drawn by its official sample_ratio, with that
# dataset's official batch size per GPU.
data_root = 'data/minigptv2'

# 448 x 448 bicubic, as blip2_image_train at HEAD (the same resize as evaluation).
image_pipeline = [
    dict(type='Resize', scale=(448, 448), keep_ratio=False, interpolation='bicubic',
         backend='pillow'),
    dict(type='PackInputs', algorithm_keys=['instruction', 'answer', 'conversation'],
         meta_keys=['sample_idx', 'image_id', 'img_path']),
]
# Unnatural instructions have no image.
text_pipeline = [dict(type='PackInputs', algorithm_keys=['instruction', 'answer'],
                      meta_keys=['sample_idx'])]


def _image(type, **kwargs):
    return dict(type=type, data_root=data_root, pipeline=image_pipeline, **kwargs)


refcocop_files = dict(ann_file='refcoco_annotations/refcoco+/refs(unc).p',
                      instances_file='refcoco_annotations/refcoco+/instances.json')
refcocog_files = dict(ann_file='refcoco_annotations/refcocog/refs(umd).p',
                      instances_file='refcoco_annotations/refcocog/instances.json')
# (dataset, official batch size, official sample_ratio)
mixture = [
    (_image('MultitaskConversationDataset'), 2, 50),
    (_image('LlavaConversationDataset'), 2, 30),
    (dict(type='UnnaturalInstructionDataset', data_root=data_root, pipeline=text_pipeline),
     1, 10),
    # A few Visual Genome regions reach past their image (the official code writes
    # grid values over 100 for them): they are skipped, each logged.
    (_image('ReferVisualGenomeDataset', on_bad_sample='skip'), 6, 40),
    (_image('LlavaDetailDataset'), 4, 20),
    (_image('LlavaReasonDataset'), 4, 80),
    (_image('FlickrGroundedCaptionDataset'), 2, 80),
    (_image('FlickrCaptionToPhraseDataset'), 2, 80),
    (_image('FlickrObjectToPhraseDataset'), 2, 80),
    (_image('COCOCaptionTrainDataset'), 6, 10),
    (_image('TextCapsTrainDataset'), 6, 30),
    (_image('ReferCOCODataset'), 6, 25),
    (_image('ReferCOCODataset', **refcocop_files), 6, 25),
    (_image('ReferCOCODataset', **refcocog_files), 6, 25),
    (_image('InvReferCOCODataset'), 6, 10),
    (_image('InvReferCOCODataset', **refcocop_files), 6, 10),
    (_image('InvReferCOCODataset', **refcocog_files), 6, 10),
    (_image('COCOVQATrainDataset'), 6, 15),
    (_image('OKVQATrainDataset'), 6, 8),
    (_image('AOKVQATrainDataset'), 6, 12),
    (_image('GQATrainDataset'), 6, 50),
    (_image('OCRVQATrainDataset'), 6, 30),
]

train_dataloader = dict(
    batch_size=6,
    num_workers=6,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    batch_sampler=dict(type='SourceRatioBatchSampler',
                       ratios=[ratio for _, _, ratio in mixture],
                       batch_sizes=[size for _, size, _ in mixture]),
    collate_fn=dict(type='default_collate'),
    dataset=dict(type='ConcatDataset', datasets=[dataset for dataset, _, _ in mixture]))
