# Hateful Memes dev (the challenge release, jsonl + img/):
#   data/hateful_memes/dev.jsonl
#   data/hateful_memes/img/<id>.png
# MiniGPT-v2's prompt (no task token; its spelling kept), yes -> hateful.
_base_ = ['./evaluation_runtime.py']

benchmark_model = dict(
    vqa_instruction="This is an image writting '{}'. Is this image hateful? Answer yes or no. "
                    'Answer:')

# The official script batches 100 memes; batch size does not change greedy answers.
test_dataloader = dict(
    dataset=dict(
        type='HatefulMemes',
        data_root='data/hateful_memes',
        ann_file='dev.jsonl',
        pipeline=[
            dict(type='LoadImageWithPIL'),
            _base_.minigptv2_resize,
            # PackInputs packs `gt_label` (0/1) by itself.
            dict(type='PackInputs', algorithm_keys=['question'],
                 meta_keys=['question_id', 'image_id', 'img_path']),
        ]))
test_evaluator = dict(type='HatefulMemesAccuracy')
