_base_ = ['./minigptv2_llama2-chat-7b_refcoco-val.py']

test_dataloader = dict(dataset=dict(ann_file='eval_data/refcoco+_val.json'))
