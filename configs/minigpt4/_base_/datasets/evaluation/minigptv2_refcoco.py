# RefCOCO / RefCOCO+ / RefCOCOg as MiniGPT-v2's eval_ref.py asks them, from its
# eval_scripts/eval_data files (one per benchmark and split; a config picks one
# with `ann_file`); images are COCO train2014:
#   data/refcoco/eval_data/{refcoco,refcoco+,refcocog}_{val,testA,testB,test}.json
#   data/refcoco/train2014/COCO_train2014_*.jpg
# Scores: share of expressions whose first answered box has IoU > 0.5.
_base_ = ['./evaluation_runtime.py']

# parse_boxes: the answers' boxes are read into pred_bboxes (drawn by --show-dir).
benchmark_model = dict(vqa_instruction='[refer] give me the location of {}', parse_boxes=True)

test_dataloader = dict(
    dataset=dict(
        type='MiniGPTv2RefCOCO',
        data_root='data/refcoco',
        data_prefix='train2014',
        ann_file='eval_data/refcoco_val.json',
        pipeline=[
            dict(type='LoadImageWithPIL'),
            # The boxes stay in pixels of the original image, where the metric puts the
            # answer's 0-100 grid box (ori_shape); mmcv's Resize would scale `gt_bboxes`
            # too, so it gets the image alone (KeyMapper hands back `img` only).
            dict(type='KeyMapper', mapping=dict(img='img'), auto_remap=True,
                 transforms=[_base_.minigptv2_resize]),
            dict(type='PackInputs', algorithm_keys=['question', 'gt_bboxes'],
                 meta_keys=['question_id', 'image_id', 'img_path', 'ori_shape']),
        ]))
test_evaluator = dict(type='RefCOCOAccuracy')
