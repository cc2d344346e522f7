# TextVQA 0.5.1 val (official files):
#   data/textvqa/annotations/TextVQA_0.5.1_val.json
#   data/textvqa/images/train_images/<image_id>.jpg
_base_ = ['./evaluation_runtime.py']

benchmark_model = dict(vqa_instruction={{_base_.short_answer_instruction}})

test_dataloader = dict(
    dataset=dict(
        type='TextVQA',
        data_root='data/textvqa',
        data_prefix='images/train_images',
        ann_file='annotations/TextVQA_0.5.1_val.json',
        pipeline={{_base_.vqa_test_pipeline}}))
test_evaluator = dict(type='VQAEvalAcc')
