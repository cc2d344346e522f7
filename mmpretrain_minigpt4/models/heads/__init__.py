from .linear_projection_head import LinearProjectionHead
from .token_merge_projection_head import TokenMergeProjectionHead

__all__ = ['LinearProjectionHead', 'TokenMergeProjectionHead']
