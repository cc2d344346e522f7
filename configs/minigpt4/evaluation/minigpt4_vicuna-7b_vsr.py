_base_ = [
    '../_base_/models/minigpt4_vicuna-7b.py',
    '../_base_/datasets/evaluation/vsr.py',
]

model = {{_base_.benchmark_model}}
