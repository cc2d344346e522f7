# OK-VQA val2014 (official files, VQAv2 format; COCO val2014 images):
#   data/okvqa/annotations/OpenEnded_mscoco_val2014_questions.json
#   data/okvqa/annotations/mscoco_val2014_annotations.json
#   data/okvqa/val2014 -> COCO val2014 images
_base_ = ['./evaluation_runtime.py']

benchmark_model = dict(vqa_instruction={{_base_.short_answer_instruction}})

test_dataloader = dict(
    dataset=dict(
        type='COCOVQA',
        data_root='data/okvqa',
        data_prefix='val2014',
        question_file='annotations/OpenEnded_mscoco_val2014_questions.json',
        ann_file='annotations/mscoco_val2014_annotations.json',
        pipeline={{_base_.vqa_test_pipeline}}))
test_evaluator = dict(type='VQAEvalAcc')
