# VizWiz-VQA val (official files), every question, all ten answers:
#   data/vizwiz/Annotations/val.json
#   data/vizwiz/val/VizWiz_val_*.jpg
_base_ = ['./evaluation_runtime.py']

# MiniGPT-v2's VizWiz prompt (without its '[vqa] ' task token), verbatim.
benchmark_model = dict(
    vqa_instruction="The question is '{}' Based on the image, answer the question with a single "
                    "word or phrase. and reply 'unanswerable' when the provided information is "
                    'insufficient')

test_dataloader = dict(
    dataset=dict(
        type='VizWizAllQuestions',
        data_root='data/vizwiz',
        data_prefix='val',
        ann_file='Annotations/val.json',
        pipeline={{_base_.vqa_test_pipeline}}))
# mmpretrain's VQAAcc: min(1, #humans who gave the answer / 3), MiniGPT-v2's VizWiz scoring.
test_evaluator = dict(type='VQAAcc')
