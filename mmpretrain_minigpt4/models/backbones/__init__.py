from .eva_vit import EVAViT, interpolate_pos_embed

__all__ = ['EVAViT', 'interpolate_pos_embed']
