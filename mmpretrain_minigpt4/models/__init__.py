from .backbones import EVAViT
from .heads import LinearProjectionHead, TokenMergeProjectionHead
from .language_models import build_hf_causal_lm
from .minigpt4 import MiniGPT4
from .necks import QFormerNeck
from .tokenizers import LlamaSentencePieceTokenizer

__all__ = [
    'EVAViT', 'QFormerNeck', 'LinearProjectionHead', 'TokenMergeProjectionHead',
    'build_hf_causal_lm', 'LlamaSentencePieceTokenizer', 'MiniGPT4'
]
