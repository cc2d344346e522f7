# The CPU benchmark model of issue 6: EVA ViT 12 x 768 at 224 px, the real-size
# BLIP-2 Q-Former (12 layers, 768 wide, 32 queries), a 134M-parameter Llama
# (hidden 768, 12 layers, intermediate 2048, vocab 32000), fp32, random weights.
# Run: python tools/benchmark.py configs/minigpt4/speed/minigpt4_small.py --threads 2
_base_ = ['../_base_/models/minigpt4_tiny.py']

model = dict(
    vision_encoder=dict(embed_dims=768, num_layers=12, num_heads=12, mlp_ratio=4.0),
    neck=dict(encoder_width=768, hidden_size=768, num_layers=12, num_heads=12,
              intermediate_size=3072),
    head=dict(in_channels=768, out_channels=768),
    llm=dict(config=dict(hidden_size=768, intermediate_size=2048, num_hidden_layers=12,
                         num_attention_heads=12, num_key_value_heads=12)))

# Workload sizes for a 2-core CPU (the measurements of the peer).
benchmark = dict(
    encode_batch=8,
    stage2_batch=4,
    stage2_text_tokens=160,
    stage1_batch=8,
    stage1_text_tokens=30,
    caption_new_tokens=16,
    caption_batch=8,
    vqa_new_tokens=8)
