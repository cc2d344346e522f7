from .llama_sentencepiece_tokenizer import (LlamaSentencePieceTokenizer,
                                            sentencepiece_model_from_tokenizer_json)

__all__ = ['LlamaSentencePieceTokenizer', 'sentencepiece_model_from_tokenizer_json']
