# VizWiz as MiniGPT-v2's eval_vqa.py asks it: 448-px images, the '[vqa] ' task token.
_base_ = ['./vizwiz.py']

benchmark_model = dict(vqa_instruction='[vqa] ' + _base_.benchmark_model.vqa_instruction)
test_dataloader = dict(dataset=dict(pipeline=_base_.minigptv2_vqa_test_pipeline))
