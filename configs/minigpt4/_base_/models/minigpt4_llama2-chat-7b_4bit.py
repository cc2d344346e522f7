# minigpt4_llama2-chat-7b with its LLM in 4-bit NF4 (double quantization, bf16 compute) through bitsandbytes and the frozen ViT
# in float16; the weights load onto this process's GPU (see
# mmpretrain_minigpt4/models/language_models/quantization.py).
_base_ = ['./minigpt4_llama2-chat-7b.py']

model = dict(vision_dtype='float16', llm=dict(quantization='4bit'))
