# VQAv2 val2014 (official files; test-dev needs the evaluation server: use
# question_file 'annotations/v2_OpenEnded_mscoco_test-dev2015_questions.json',
# ann_file '', data_prefix 'test2015' and test_evaluator=dict(type='ReportVQA', file_path=...)).
#   data/coco/annotations/v2_OpenEnded_mscoco_val2014_questions.json
#   data/coco/annotations/v2_mscoco_val2014_annotations.json
#   data/coco/val2014/COCO_val2014_*.jpg
_base_ = ['./evaluation_runtime.py']

benchmark_model = dict(vqa_instruction={{_base_.short_answer_instruction}})

test_dataloader = dict(
    dataset=dict(
        type='COCOVQA',
        data_root='data/coco',
        data_prefix='val2014',
        question_file='annotations/v2_OpenEnded_mscoco_val2014_questions.json',
        ann_file='annotations/v2_mscoco_val2014_annotations.json',
        pipeline={{_base_.vqa_test_pipeline}}))
test_evaluator = dict(type='VQAEvalAcc')
