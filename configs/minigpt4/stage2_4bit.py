# MiniGPT-4 stage 2 (Vicuna-7B) with the frozen LLM in 4-bit NF4 and the ViT in
# float16: the projection trains as in stage2.py, on a 12 GB GPU.
_base_ = ['./stage2.py']

model = dict(vision_dtype='float16', llm=dict(quantization='4bit'))
