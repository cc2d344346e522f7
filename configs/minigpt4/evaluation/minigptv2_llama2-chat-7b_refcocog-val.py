_base_ = ['./minigptv2_llama2-chat-7b_refcoco-val.py']

test_dataloader = dict(dataset=dict(ann_file='eval_data/refcocog_val.json'))
