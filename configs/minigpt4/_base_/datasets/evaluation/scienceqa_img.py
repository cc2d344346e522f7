# ScienceQA-IMG: the test questions that have an image (official files):
#   data/scienceqa/problems.json, data/scienceqa/pid_splits.json
#   data/scienceqa/images/test/<pid>/image.png
_base_ = ['./evaluation_runtime.py']

# FormatMultipleChoiceQuestion has already written the whole instruction.
benchmark_model = dict(vqa_instruction='{}')

test_dataloader = dict(
    dataset=dict(
        type='ScienceQA',
        data_root='data/scienceqa',
        split='test',
        split_file='pid_splits.json',
        ann_file='problems.json',
        image_only=True,
        data_prefix=dict(img_path='images/test'),
        pipeline=[
            dict(type='LoadImageWithPIL'),
            dict(type='Resize', scale=(224, 224), interpolation='bicubic', backend='pillow'),
            dict(type='FormatMultipleChoiceQuestion'),
            dict(
                type='PackInputs',
                algorithm_keys=['question', 'gt_answer', 'choices', 'hint', 'grade', 'subject',
                                'has_image'],
                meta_keys=['image_id', 'img_path']),
        ]))
test_evaluator = dict(type='ScienceQAAccuracy')
