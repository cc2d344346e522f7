_base_ = [
    './_base_/models/minigpt4_tiny.py',
    './_base_/datasets/image_caption_inference.py',
    './_base_/default_runtime.py',
]
