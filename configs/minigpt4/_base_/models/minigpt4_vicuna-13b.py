# MiniGPT-4 with Vicuna-13B v0: only the LLM and the projection width differ from 7B.
_base_ = ['./minigpt4_vicuna-7b.py']

model = dict(
    head=dict(out_channels=5120),
    llm=dict(name_or_path='{{$MINIGPT4_VICUNA_13B:checkpoints/vicuna-13b}}'))
