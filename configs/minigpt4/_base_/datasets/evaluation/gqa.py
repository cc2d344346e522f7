# GQA testdev-balanced, the official question file (LAVIS's list version works too):
#   data/gqa/questions/testdev_balanced_questions.json
#   data/gqa/images/<imageId>.jpg
_base_ = ['./evaluation_runtime.py']

benchmark_model = dict(vqa_instruction={{_base_.short_answer_instruction}})

test_dataloader = dict(
    dataset=dict(
        type='OfficialGQA',
        data_root='data/gqa',
        data_prefix='images',
        ann_file='questions/testdev_balanced_questions.json',
        pipeline={{_base_.vqa_test_pipeline}}))
test_evaluator = dict(type='GQAAccuracy')
