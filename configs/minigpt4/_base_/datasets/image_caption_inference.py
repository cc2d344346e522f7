# What the caption inferencer and the chat read: the whole image resized to the
# ViT's 224 x 224 with bicubic interpolation on PIL, as the official BLIP-2
# evaluation processor. `get_model` reads the dataset type for its metainfo.
test_pipeline = [
    dict(type='LoadImageWithPIL'),
    dict(type='Resize', scale=(224, 224), keep_ratio=False, interpolation='bicubic',
         backend='pillow'),
    dict(type='PackInputs', meta_keys=['image_id']),
]
test_dataloader = dict(dataset=dict(type='COCOCaption', pipeline=test_pipeline))
