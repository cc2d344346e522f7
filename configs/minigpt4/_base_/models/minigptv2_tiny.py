# MiniGPT-v2 at CPU size: the tiny ViT at 448 px (1024 patches), no Q-Former, CLS
# dropped and 4 consecutive tokens merged (256 tokens of 128 dims) -> Linear(128, 64)
# -> the tiny random Llama with LoRA on q_proj / v_proj (r 4, alpha 1: the
# official scaling 0.25), the real Llama-2 tokenizer and the 'minigptv2' template.
_base_ = ['./minigpt4_tiny.py']

model = dict(
    vision_encoder=dict(img_size=448),
    neck=None,
    head=dict(
        _delete_=True, type='TokenMergeProjectionHead', in_channels=32, out_channels=64,
        num_merged_tokens=4),
    llm=dict(lora=dict(r=4, alpha=1, dropout=0.05, target_modules=['q_proj', 'v_proj'])),
    template='minigptv2',
    max_txt_len=1024)
