_base_ = [
    '../_base_/models/minigptv2_llama2-chat-7b.py',
    '../_base_/datasets/evaluation/minigptv2_vizwiz.py',
]

model = {{_base_.benchmark_model}}
