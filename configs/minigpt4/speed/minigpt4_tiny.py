# The tiny whole model with small workloads: the benchmark's smoke test (seconds on CPU).
_base_ = ['../_base_/models/minigpt4_tiny.py']

benchmark = dict(
    encode_batch=4,
    stage2_batch=2,
    stage2_text_tokens=40,
    stage1_batch=4,
    stage1_text_tokens=12,
    caption_new_tokens=6,
    caption_batch=3,
    vqa_new_tokens=4)
