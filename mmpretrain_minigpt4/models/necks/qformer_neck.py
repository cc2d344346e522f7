"""BLIP-2 Q-Former used query-only, on transformers' ``Blip2QFormerModel``."""
import torch
from mmpretrain.registry import MODELS
from torch import nn
from transformers import Blip2QFormerConfig, Blip2QFormerModel


@MODELS.register_module()
class QFormerNeck(nn.Module):
    """Learned query tokens that cross-attend to the image tokens.

    The bert-base configuration is built locally (no hub access); queries get
    no position embedding and the text-only parts of BLIP-2's Q-Former do not
    exist here. transformers' implementation equals LAVIS' for this use after a
    key rename (``attention.self`` -> ``attention.attention``, the embeddings'
    LayerNorm -> ``layernorm``). Keep it in eval mode: MiniGPT-4 never enables
    its dropout.

    Args:
        num_query_tokens (int): Queries. Defaults to 32.
        encoder_width (int): Width of the image tokens. Defaults to 1408.
        hidden_size (int): Q-Former width. Defaults to 768.
        num_layers (int): Layers. Defaults to 12.
        num_heads (int): Attention heads. Defaults to 12.
        intermediate_size (int): FFN width. Defaults to 3072.
        cross_attention_freq (int): Cross-attention every this many layers,
            starting with layer 0. Defaults to 2.
        layer_norm_eps (float): Defaults to 1e-12.
        initializer_range (float): Std of the random initial weights (BERT's
            ``initializer_range``); matters only for random (tiny) models, whose
            cross-attention is nearly uniform at 0.02, so that their outputs
            barely depend on the image. Defaults to 0.02.
    """

    def __init__(self,
                 num_query_tokens: int = 32,
                 encoder_width: int = 1408,
                 hidden_size: int = 768,
                 num_layers: int = 12,
                 num_heads: int = 12,
                 intermediate_size: int = 3072,
                 cross_attention_freq: int = 2,
                 layer_norm_eps: float = 1e-12,
                 initializer_range: float = 0.02):
        super().__init__()
        config = Blip2QFormerConfig(
            hidden_size=hidden_size,
            num_hidden_layers=num_layers,
            num_attention_heads=num_heads,
            intermediate_size=intermediate_size,
            encoder_hidden_size=encoder_width,
            cross_attention_frequency=cross_attention_freq,
            layer_norm_eps=layer_norm_eps,
            initializer_range=initializer_range)
        self.qformer = Blip2QFormerModel(config)
        self.query_tokens = nn.Parameter(torch.zeros(1, num_query_tokens, hidden_size))
        nn.init.normal_(self.query_tokens, std=initializer_range)

    @property
    def out_channels(self) -> int:
        return self.query_tokens.shape[-1]

    @property
    def num_query_tokens(self) -> int:
        return self.query_tokens.shape[1]

    def forward(self, image_embeds: torch.Tensor) -> torch.Tensor:
        """image_embeds (B, N, encoder_width) -> query_output (B, num_query_tokens, hidden_size)."""
        batch_size = image_embeds.shape[0]
        image_mask = torch.ones(image_embeds.shape[:2], dtype=torch.long, device=image_embeds.device)
        output = self.qformer(
            query_embeds=self.query_tokens.expand(batch_size, -1, -1),
            encoder_hidden_states=image_embeds,
            encoder_attention_mask=image_mask)
        return output.last_hidden_state
