# minigpt4_vicuna-13b with its LLM in LLM.int8 (the official low_resource demo) through bitsandbytes and the frozen ViT
# in float16; the weights load onto this process's GPU (see
# mmpretrain_minigpt4/models/language_models/quantization.py).
_base_ = ['./minigpt4_vicuna-13b.py']

model = dict(vision_dtype='float16', llm=dict(quantization='8bit'))
