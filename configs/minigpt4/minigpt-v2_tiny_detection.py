_base_ = [
    './_base_/models/minigptv2_tiny.py',
    './_base_/datasets/minigptv2_inference.py',
    './_base_/default_runtime.py',
]

model = {{_base_.detection_task}}
