# VSR as MiniGPT-v2's eval_vqa.py asks and scores it: 448-px images, the '[vqa] '
# task token, and only 'true' / 'false' (any case) count as answers.
_base_ = ['./vsr.py']

benchmark_model = dict(vqa_instruction='[vqa] ' + _base_.benchmark_model.vqa_instruction)
test_dataloader = dict(dataset=dict(pipeline=_base_.minigptv2_vqa_test_pipeline))
test_evaluator = dict(exact_match=True)
