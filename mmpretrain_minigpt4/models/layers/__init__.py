from .fp32_layer_norm import FP32LayerNorm

__all__ = ['FP32LayerNorm']
