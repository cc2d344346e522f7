# iconqa with the CPU-tiny random MiniGPT-v2 on its mini split (for tests).
_base_ = [
    '../../_base_/models/minigptv2_tiny.py',
    '../../_base_/datasets/evaluation/minigptv2_iconqa.py',
]

model = {{_base_.benchmark_model}}
test_dataloader = dict(num_workers=0, dataset=dict(data_root='tests/data/benchmarks/iconqa'))
