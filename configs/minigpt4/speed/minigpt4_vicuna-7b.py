# Full-size MiniGPT-4 (EVA ViT-g, Q-Former, Vicuna-7B) with a random-weight
# Llama-7B built on the device: no checkpoint needed, nothing written to disk.
# Run: python tools/benchmark.py configs/minigpt4/speed/minigpt4_vicuna-7b.py
_base_ = ['../_base_/models/minigpt4_vicuna-7b.py']

model = dict(
    llm=dict(
        _delete_=True,
        type='HFCausalLM',
        config=dict(
            model_type='llama', vocab_size=32000, hidden_size=4096, intermediate_size=11008,
            num_hidden_layers=32, num_attention_heads=32, num_key_value_heads=32,
            max_position_embeddings=2048, rms_norm_eps=1e-6),
        dtype='bfloat16'),
    # Vicuna v0 uses the Llama tokenizer: the real one ships in `wordllama`.
    tokenizer=dict(
        type='LlamaSentencePieceTokenizer',
        tokenizer_json='pkg://wordllama/wordllama/tokenizers/l2_supercat_tokenizer_config.json'))
