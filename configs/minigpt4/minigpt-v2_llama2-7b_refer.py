_base_ = [
    './_base_/models/minigptv2_llama2-chat-7b.py',
    './_base_/datasets/minigptv2_inference.py',
    './_base_/default_runtime.py',
]

model = {{_base_.refer_task}}
