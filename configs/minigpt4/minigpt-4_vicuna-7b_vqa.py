_base_ = [
    './_base_/models/minigpt4_vicuna-7b.py',
    './_base_/datasets/vqa_inference.py',
    './_base_/default_runtime.py',
]
