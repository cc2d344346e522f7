# refcoco-testB with the CPU-tiny random MiniGPT-v2 on its mini split (for tests).
_base_ = ['./minigptv2_tiny_refcoco-val.py']

test_dataloader = dict(dataset=dict(ann_file='eval_data/refcoco_testB.json'))
