# What the MiniGPT-v2 inferencers and chat read: the whole image resized to the
# ViT's 448 x 448 (bicubic on PIL, BLIP-2's evaluation processor), the question
# packed when there is one, and the original size (`ori_shape`), to which the
# answers' 0-100 box grid is relative.
_base_ = ['./vqa_inference.py']

test_pipeline = [
    dict(type='LoadImageWithPIL'),
    dict(type='Resize', scale=(448, 448), keep_ratio=False, interpolation='bicubic',
         backend='pillow'),
    dict(type='PackInputs', algorithm_keys=['question'],
         meta_keys=['image_id', 'question_id', 'ori_shape']),
]
test_dataloader = dict(dataset=dict(pipeline=test_pipeline))

# The task of each ModelHub name: a config applies one to its model
# (`model = {{_base_.refer_task}}`). The instructions are the official ones
# (grounding/task_instructions.py); the answers' boxes are read into pred_bboxes.
caption_task = dict(caption_instruction='[caption] Briefly describe this image.',
                    parse_boxes=True)
vqa_task = dict(vqa_instruction='[vqa] {}', parse_boxes=True)
# Referring-expression comprehension: an expression -> its box (eval_ref.py's prompt).
refer_task = dict(vqa_instruction='[refer] give me the location of {}', parse_boxes=True)
# A caption whose phrases carry their boxes (the official demo's instruction).
grounded_caption_task = dict(caption_instruction='[grounding] describe this image in detail',
                             parse_boxes=True)
# Every box of an object or phrase, joined by <delim>.
detection_task = dict(vqa_instruction='[detection] {}', parse_boxes=True)
