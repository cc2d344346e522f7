"""MiniGPT-v2 stage-3 training datasets: instruction-answer (or conversation) samples of
each task, read from the official annotation files."""
from .caption_datasets import (CaptionInstructionDataset, COCOCaptionTrainDataset,
                               TextCapsTrainDataset)
from .conversation_datasets import LlavaConversationDataset, MultitaskConversationDataset
from .flickr30k_grounding import (FlickrCaptionToPhraseDataset, FlickrGroundedCaptionDataset,
                                  FlickrObjectToPhraseDataset)
from .image_instruction_dataset import ImageInstructionDataset
from .json_annotation_dataset import JsonAnnotationDataset
from .llava_datasets import LlavaDetailDataset, LlavaFormatDataset, LlavaReasonDataset
from .ocr_vqa_dataset import OCRVQATrainDataset
from .plain_pickle import load_plain_pickle
from .refcoco import InvReferCOCODataset, ReferCOCODataset
from .region_reference_dataset import RegionReferenceDataset
from .unnatural_instruction_dataset import UnnaturalInstructionDataset
from .visual_genome_regions import ReferVisualGenomeDataset
from .vqa_datasets import (AOKVQATrainDataset, COCOVQATrainDataset, GQATrainDataset,
                           OKVQATrainDataset, VQAInstructionDataset)

__all__ = [
    'AOKVQATrainDataset', 'CaptionInstructionDataset', 'COCOCaptionTrainDataset',
    'COCOVQATrainDataset', 'FlickrCaptionToPhraseDataset', 'FlickrGroundedCaptionDataset',
    'FlickrObjectToPhraseDataset', 'GQATrainDataset', 'ImageInstructionDataset',
    'InvReferCOCODataset', 'JsonAnnotationDataset', 'LlavaConversationDataset',
    'LlavaDetailDataset', 'LlavaFormatDataset', 'LlavaReasonDataset',
    'MultitaskConversationDataset', 'OCRVQATrainDataset', 'OKVQATrainDataset',
    'ReferCOCODataset', 'ReferVisualGenomeDataset', 'RegionReferenceDataset',
    'TextCapsTrainDataset', 'UnnaturalInstructionDataset', 'VQAInstructionDataset',
    'load_plain_pickle'
]
