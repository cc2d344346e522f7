# IconQA choose_txt val (the IconQA release, unzipped iconqa_data/ at data/iconqa):
#   data/iconqa/iconqa/val/choose_txt/<pid>/{data.json,image.png}
# MiniGPT-v2's list file works too: ann_file='choose_text_val.json'.
# The model ranks each question's choices by their loss as the answer to the
# '[vqa] ' short-answer prompt (official multi_select); scores top-1 accuracy.
_base_ = ['./evaluation_runtime.py']

benchmark_model = dict(vqa_instruction='[vqa] ' + _base_.short_answer_instruction)

test_dataloader = dict(
    dataset=dict(
        type='IconQACandidates',
        data_root='data/iconqa',
        data_prefix='iconqa/val/choose_txt',
        pipeline=[
            dict(type='LoadImageWithPIL'),
            _base_.minigptv2_resize,
            dict(type='PackInputs',
                 algorithm_keys=['question', 'candidates', 'gt_answer', 'gt_answer_index'],
                 meta_keys=['question_id', 'image_id', 'img_path']),
        ]))
test_evaluator = dict(type='IconQAAccuracy')
