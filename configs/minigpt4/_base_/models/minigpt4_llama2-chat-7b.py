# MiniGPT-4 with Llama-2-7B-chat: no Q-Former; CLS dropped, 4 consecutive patch
# tokens merged (64 tokens of 5632 dims at 224 px) and projected to 4096.
# ln_vision keeps its default init: no official file provides it for this variant.
_base_ = ['./minigpt4_vicuna-7b.py']

model = dict(
    neck=None,
    head=dict(
        _delete_=True, type='TokenMergeProjectionHead', in_channels=1408,
        out_channels=4096, num_merged_tokens=4),
    llm=dict(name_or_path='{{$MINIGPT4_LLAMA2_CHAT_7B:checkpoints/Llama-2-7b-chat-hf}}'),
    template='llama2',
    init_cfg=dict(checkpoint='{{$MINIGPT4_FROZEN_CKPT:checkpoints/minigpt4_frozen_eva-vit-g.pth}}'))
