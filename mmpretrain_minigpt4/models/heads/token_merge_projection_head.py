"""MiniGPT-4 Llama-2 / MiniGPT-v2 projection: merge consecutive ViT tokens, then project."""
import torch
from mmpretrain.registry import MODELS
from torch import nn


@MODELS.register_module()
class TokenMergeProjectionHead(nn.Module):
    """Drop CLS, concatenate every ``num_merged_tokens`` consecutive patch tokens, project.

    The official merge is a plain ``view`` of the raster-ordered tokens, so the
    merged tokens are 1 x 4 horizontal strips (not 2 x 2 blocks): 256 patches at
    224 px give 64 tokens of 5632 dims, 1024 at 448 px give 256.

    Args:
        in_channels (int): ViT width. Defaults to 1408.
        out_channels (int): LLM hidden size. Defaults to 4096.
        num_merged_tokens (int): Tokens merged into one. Defaults to 4.
    """

    def __init__(self, in_channels: int = 1408, out_channels: int = 4096,
                 num_merged_tokens: int = 4):
        super().__init__()
        self.num_merged_tokens = num_merged_tokens
        self.proj = nn.Linear(in_channels * num_merged_tokens, out_channels)

    def num_output_tokens(self, num_input_tokens: int) -> int:
        """Tokens out for ``num_input_tokens`` in (CLS first): 257 -> 64."""
        return (num_input_tokens - 1) // self.num_merged_tokens

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """tokens (B, 1 + N, C) with CLS first -> (B, N / num_merged_tokens, out_channels)."""
        patches = tokens[:, 1:]
        batch_size, num_patches, channels = patches.shape
        if num_patches % self.num_merged_tokens:
            raise ValueError(f'{num_patches} patch tokens cannot be merged in groups of '
                             f'{self.num_merged_tokens}.')
        merged = patches.reshape(batch_size, num_patches // self.num_merged_tokens,
                                 channels * self.num_merged_tokens)
        return self.proj(merged)
