# COCO Captions, Karpathy test split (5000 images), LAVIS annotation files:
#   data/coco/annotations/coco_karpathy_test.json      (LAVIS coco/defaults_cap.yaml)
#   data/coco/annotations/coco_karpathy_test_gt.json   (COCO-format ground truth)
#   data/coco/val2014/COCO_val2014_*.jpg
# Scores: BLEU-1..4, METEOR, ROUGE-L, CIDEr offline (Java needed); SPICE too when
# its CoreNLP jars are installed (see docs/evaluation.md).
_base_ = ['./evaluation_runtime.py']

data_root = 'data/coco'
benchmark_model = dict(caption_instruction='Briefly describe this image.')

test_dataloader = dict(
    dataset=dict(
        type='COCOCaption',
        data_root=data_root,
        ann_file='annotations/coco_karpathy_test.json',
        pipeline=[
            dict(type='LoadImageWithPIL'),
            dict(type='Resize', scale=(224, 224), interpolation='bicubic', backend='pillow'),
            dict(type='PackInputs', meta_keys=['image_id', 'img_path']),
        ]))
test_evaluator = dict(
    type='OfflineCOCOCaption', ann_file=data_root + '/annotations/coco_karpathy_test_gt.json')
