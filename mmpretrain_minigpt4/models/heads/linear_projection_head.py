"""The trainable projection of MiniGPT-4 (``llama_proj``)."""
import torch
from mmpretrain.registry import MODELS
from torch import nn


@MODELS.register_module()
class LinearProjectionHead(nn.Module):
    """Project visual tokens into the LLM's embedding space.

    Args:
        in_channels (int): Token width in (768 after the Q-Former).
        out_channels (int): LLM hidden size (4096 for 7B, 5120 for 13B).
    """

    def __init__(self, in_channels: int = 768, out_channels: int = 4096):
        super().__init__()
        self.proj = nn.Linear(in_channels, out_channels)

    def num_output_tokens(self, num_input_tokens: int) -> int:
        """Tokens out for ``num_input_tokens`` in: the same."""
        return num_input_tokens

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """tokens (B, T, in_channels) -> (B, T, out_channels)."""
        return self.proj(tokens)
