# VSR zero-shot test split as a list of {"image", "question": caption, "answer": bool}
# (cambridgeltl/vsr_zeroshot test.jsonl with `caption` -> question, `label` -> answer):
#   data/vsr/annotations/test.json
#   data/vsr/images/*.jpg (COCO 2017 images)
_base_ = ['./benchmark_runtime.py']

benchmark_model = dict(
    vqa_instruction='Based on the image, is this statement true or false? {}')

test_dataloader = dict(
    dataset=dict(
        type='VSR',
        data_root='data/vsr',
        data_prefix='images',
        ann_file='annotations/test.json',
        pipeline={{_base_.vqa_test_pipeline}}))
test_evaluator = dict(type='VSRAcc')
