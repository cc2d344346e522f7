"""MiniGPT-4 training data: image-text shards (stage 1), cc_sbu_align (stage 2), transforms."""
from .cc_sbu_align_dataset import CCSBUAlignDataset
from .image_text_dataset import BadSampleError, ImageTextDataset
from .image_text_shard_dataset import ImageTextShardDataset
from .source_ratio_batch_sampler import SourceRatioBatchSampler
from .transforms import BlipCaption, BuildInstructionPrompt

__all__ = [
    'BadSampleError', 'BlipCaption', 'BuildInstructionPrompt', 'CCSBUAlignDataset',
    'ImageTextDataset', 'ImageTextShardDataset', 'SourceRatioBatchSampler'
]
