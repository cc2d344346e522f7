# What the VQA inferencer reads: the caption pipeline, packing the question.
_base_ = ['./image_caption_inference.py']

test_pipeline = [
    dict(type='LoadImageWithPIL'),
    dict(type='Resize', scale=(224, 224), keep_ratio=False, interpolation='bicubic',
         backend='pillow'),
    dict(type='PackInputs', algorithm_keys=['question'], meta_keys=['question_id']),
]
test_dataloader = dict(dataset=dict(type='COCOVQA', pipeline=test_pipeline))
