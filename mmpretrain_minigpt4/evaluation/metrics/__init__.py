from .dump_predictions import DumpPredictions
from .gqa_accuracy import GQAAccuracy
from .offline_coco_caption import OfflineCOCOCaption, score_captions
from .refcoco_accuracy import RefCOCOAccuracy, box_iou_plus_one
from .scienceqa_accuracy import ScienceQAAccuracy, parse_choice
from .vqa_eval_acc import VQAEvalAcc
from .vsr_acc import VSRAcc

__all__ = ['DumpPredictions', 'GQAAccuracy', 'OfflineCOCOCaption', 'RefCOCOAccuracy',
           'ScienceQAAccuracy', 'VQAEvalAcc', 'VSRAcc', 'box_iou_plus_one', 'parse_choice',
           'score_captions']
