# What every benchmark shares: the runtime, a
# test loop, a hook that draws predictions (`tools/test.py --show-dir`), the
# official evaluation decoding of MiniGPT-v2 (greedy, at most 20 new tokens,
# no repetition penalty) and the image pipelines of MiniGPT-4 and MiniGPT-v2.
# A benchmark config applies `benchmark_model` to its model:
# `model = {{_base_.benchmark_model}}`.
_base_ = ['../../default_runtime.py']

default_hooks = dict(visualization=dict(type='PredictionVisualizationHook', enable=False))

test_cfg = dict()

benchmark_model = dict(
    generation_cfg=dict(
        max_new_tokens=20, num_beams=1, do_sample=False, min_length=1,
        repetition_penalty=1.0, length_penalty=1.0))

# Official evaluation batches 10 images; batched greedy answers equal one-by-one ones.
# Questions are visited image by image, so a batch's repeated images are encoded once.
test_dataloader = dict(
    batch_size=10,
    num_workers=2,
    sampler=dict(type='ImageGroupedSampler'),
    collate_fn=dict(type='default_collate'))

# MiniGPT-4 sees 224 x 224 images (BLIP-2's eval processor: bicubic resize).
# PackInputs skips the keys a dataset does not have (GQA/VSR: no weights).
vqa_test_pipeline = [
    dict(type='LoadImageWithPIL'),
    dict(type='Resize', scale=(224, 224), interpolation='bicubic', backend='pillow'),
    dict(
        type='PackInputs',
        algorithm_keys=['question', 'gt_answer', 'gt_answer_weight'],
        meta_keys=['question_id', 'image_id', 'img_path']),
]
# MiniGPT-v2 sees 448 x 448 images (minigptv2_benchmark_evaluation.yaml: blip2_image_eval 448).
minigptv2_resize = dict(vqa_test_pipeline[1], scale=(448, 448))
minigptv2_vqa_test_pipeline = [vqa_test_pipeline[0], minigptv2_resize, vqa_test_pipeline[2]]

# MiniGPT-v2's short-answer VQA prompt (OK-VQA, GQA); it prefixes its prompts
# with the task token '[vqa] ', which MiniGPT-4 (v1) was not trained with.
short_answer_instruction = 'Based on the image, respond to this question with a short answer: {}'
