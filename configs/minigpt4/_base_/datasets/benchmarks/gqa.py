# GQA testdev-balanced, LAVIS list format ({"image", "question", "answer", ...}):
#   data/gqa/annotations/testdev_balanced_questions.json
#   data/gqa/images/*.jpg
_base_ = ['./benchmark_runtime.py']

benchmark_model = dict(vqa_instruction={{_base_.short_answer_instruction}})

test_dataloader = dict(
    dataset=dict(
        type='GQA',
        data_root='data/gqa',
        data_prefix='images',
        ann_file='annotations/testdev_balanced_questions.json',
        pipeline={{_base_.vqa_test_pipeline}}))
test_evaluator = dict(type='GQAAccuracy')
