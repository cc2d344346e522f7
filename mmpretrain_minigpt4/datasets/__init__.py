"""MiniGPT-4 training data: image-text shards (stage 1), cc_sbu_align (stage 2), the
MiniGPT-v2 stage-3 datasets (:mod:`.minigptv2`), transforms."""
from .annotation_files import AnnotationFileError
from .cc_sbu_align_dataset import CCSBUAlignDataset
from .image_text_dataset import BadSampleError, ImageTextDataset
from .image_decoding import UnreadableImageError, read_image
from .image_text_shard_dataset import ImageTextShardDataset
from . import minigptv2  # noqa: F401  (registers the MiniGPT-v2 datasets)
from .source_ratio_batch_sampler import SourceRatioBatchSampler
from .transforms import BlipCaption, LoadImageWithPIL, RandomInstruction

__all__ = [
    'AnnotationFileError', 'BadSampleError', 'BlipCaption', 'CCSBUAlignDataset',
    'ImageTextDataset', 'ImageTextShardDataset', 'LoadImageWithPIL', 'RandomInstruction',
    'SourceRatioBatchSampler', 'UnreadableImageError', 'read_image'
]
