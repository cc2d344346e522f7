# VSR zero-shot test split, as released (cambridgeltl/visual-spatial-reasoning
# data/splits/zeroshot/test.jsonl); the caption is the statement to judge:
#   data/vsr/zeroshot/test.jsonl
#   data/vsr/images/<image> (COCO 2017 train and val images in one folder)
_base_ = ['./evaluation_runtime.py']

benchmark_model = dict(
    vqa_instruction='Based on the image, is this statement true or false? {}')

test_dataloader = dict(
    dataset=dict(
        type='OfficialVSR',
        data_root='data/vsr',
        data_prefix='images',
        ann_file='zeroshot/test.jsonl',
        pipeline={{_base_.vqa_test_pipeline}}))
test_evaluator = dict(type='VSRAcc')
