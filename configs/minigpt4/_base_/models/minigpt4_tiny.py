# A whole MiniGPT-4 that builds in seconds on CPU: tiny EVA ViT, tiny Q-Former,
# tiny random Llama, and the REAL Llama-2 tokenizer (shipped in the `wordllama`
# package, rebuilt into a sentencepiece model at start-up).
model = dict(
    type='MiniGPT4',
    vision_encoder=dict(
        type='EVAViT', img_size=224, patch_size=14, embed_dims=32, num_layers=2,
        num_heads=2, mlp_ratio=2.0),
    neck=dict(
        type='QFormerNeck', num_query_tokens=32, encoder_width=32, hidden_size=32,
        num_layers=2, num_heads=2, intermediate_size=64,
        # Wide random weights: a selective cross-attention, so the frozen features
        # of different photos differ (at BERT's 0.02 they are nearly equal).
        initializer_range=0.5),
    head=dict(type='LinearProjectionHead', in_channels=32, out_channels=64),
    llm=dict(
        type='HFCausalLM',
        config=dict(
            model_type='llama', vocab_size=32000, hidden_size=64, intermediate_size=128,
            num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=4,
            max_position_embeddings=2048),
        dtype='float32'),
    tokenizer=dict(
        type='LlamaSentencePieceTokenizer',
        tokenizer_json='pkg://wordllama/wordllama/tokenizers/l2_supercat_tokenizer_config.json'),
    template='vicuna_v0',
    max_txt_len=160,
    generation_cfg=dict(max_new_tokens=20))
