from .dump_predictions import DumpPredictions
from .gqa_accuracy import GQAAccuracy
from .hateful_memes_accuracy import HatefulMemesAccuracy, yes_no_label
from .iconqa_accuracy import IconQAAccuracy
from .offline_coco_caption import OfflineCOCOCaption, score_captions
from .refcoco_accuracy import RefCOCOAccuracy, box_iou_plus_one
from .scienceqa_accuracy import ScienceQAAccuracy, parse_choice
from .vqa_eval_acc import VQAEvalAcc
from .vsr_acc import VSRAcc, exact_true_false, normalize_true_false

__all__ = ['DumpPredictions', 'GQAAccuracy', 'HatefulMemesAccuracy', 'IconQAAccuracy',
           'OfflineCOCOCaption', 'RefCOCOAccuracy', 'ScienceQAAccuracy', 'VQAEvalAcc', 'VSRAcc',
           'box_iou_plus_one', 'exact_true_false', 'normalize_true_false', 'parse_choice',
           'score_captions', 'yes_no_label']
