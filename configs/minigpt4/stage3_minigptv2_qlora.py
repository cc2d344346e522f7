# MiniGPT-v2 stage 3 as QLoRA: the LoRA (float32) and the projection train over a
# 4-bit NF4 Llama-2-7B-chat, the ViT in float16; otherwise stage3_minigptv2.py.
# No float32 up-cast of the frozen weights (peft's prepare_model_for_kbit_training
# would double their memory).
_base_ = ['./stage3_minigptv2.py']

model = dict(vision_dtype='float16', llm=dict(quantization='4bit'))
