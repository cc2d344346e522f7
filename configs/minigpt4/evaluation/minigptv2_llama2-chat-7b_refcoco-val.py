# RefCOCO val; the other RefCOCO / RefCOCO+ / RefCOCOg splits inherit this config.
_base_ = [
    '../_base_/models/minigptv2_llama2-chat-7b.py',
    '../_base_/datasets/evaluation/minigptv2_refcoco.py',
]

model = {{_base_.benchmark_model}}
