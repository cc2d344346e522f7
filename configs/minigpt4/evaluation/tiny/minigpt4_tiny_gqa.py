# gqa with the CPU-tiny random model on its mini split (for tests).
_base_ = [
    '../../_base_/models/minigpt4_tiny.py',
    '../../_base_/datasets/evaluation/gqa.py',
]

model = {{_base_.benchmark_model}}
test_dataloader = dict(num_workers=0, dataset=dict(data_root='tests/data/benchmarks/gqa'))
