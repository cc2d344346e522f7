from .qformer_neck import QFormerNeck

__all__ = ['QFormerNeck']
