"""COCO caption scores offline: BLEU-1..4, METEOR, ROUGE-L, CIDEr (and SPICE if installed)."""
import os.path as osp
import shutil
from typing import Dict, List, Optional, Sequence

from mmengine.logging import MMLogger
from mmpretrain.evaluation.metrics import COCOCaption
from mmpretrain.registry import METRICS

ALL_SCORERS = ('Bleu', 'METEOR', 'ROUGE_L', 'CIDEr', 'SPICE')
# SPICE parses captions with Stanford CoreNLP 3.6.0, which pycocoevalcap does not
# ship: its constructor downloads it, which fails (or hangs) offline.
SPICE_JARS = ('stanford-corenlp-3.6.0.jar', 'stanford-corenlp-3.6.0-models.jar')
JAVA_HELP = ('COCO caption scores need Java (the PTB tokenizer and METEOR are Java programs '
             'shipped in pycocoevalcap). Install a JRE, e.g. `sudo apt-get install '
             'openjdk-17-jre-headless` or `conda install -c conda-forge openjdk=17`, '
             'and make sure `java` is on PATH.')


def spice_jars_missing() -> List[str]:
    """Paths of the CoreNLP jars SPICE needs that are not in ``pycocoevalcap/spice/lib``."""
    import pycocoevalcap.spice
    lib = osp.join(osp.dirname(pycocoevalcap.spice.__file__), 'lib')
    return [osp.join(lib, jar) for jar in SPICE_JARS if not osp.exists(osp.join(lib, jar))]


def score_captions(references: Dict[int, List[str]], predictions: Dict[int, str],
                   scorers: Sequence[str] = ALL_SCORERS) -> Dict[str, float]:
    """Score captions with pycocoevalcap's own tokenizer and scorers.

    Args:
        references: Ground-truth captions per image id.
        predictions: One predicted caption per image id (same ids).
        scorers: Names out of ``ALL_SCORERS``; 'Bleu' gives ``Bleu_1..4``.
            'SPICE' is skipped, with a warning, when its CoreNLP jars are missing.

    Returns:
        dict: ``Bleu_1..4``, ``METEOR``, ``ROUGE_L``, ``CIDEr`` (``SPICE``) in [0, 1]
        (CIDEr up to 10).
    """
    from pycocoevalcap.bleu.bleu import Bleu
    from pycocoevalcap.cider.cider import Cider
    from pycocoevalcap.meteor.meteor import Meteor
    from pycocoevalcap.rouge.rouge import Rouge
    from pycocoevalcap.spice.spice import Spice
    from pycocoevalcap.tokenizer.ptbtokenizer import PTBTokenizer

    unknown = sorted(set(scorers) - set(ALL_SCORERS))
    if unknown:
        raise ValueError(f'Unknown caption scorers {unknown}; choose from {list(ALL_SCORERS)}.')
    if set(references) != set(predictions):
        only_refs = sorted(set(references) - set(predictions))[:5]
        only_preds = sorted(set(predictions) - set(references))[:5]
        raise ValueError('Captions to score need the same image ids in references and predictions; '
                         f'only in references: {only_refs}, only in predictions: {only_preds}.')
    if shutil.which('java') is None:
        raise RuntimeError(JAVA_HELP)
    if 'SPICE' in scorers and spice_jars_missing():
        MMLogger.get_current_instance().warning(
            'SPICE skipped: it needs ' + ' and '.join(spice_jars_missing()) +
            ' (from stanford-corenlp-full-2015-12-09.zip). BLEU, METEOR, ROUGE-L and CIDEr '
            'are computed.')
        scorers = [name for name in scorers if name != 'SPICE']

    tokenizer = PTBTokenizer()
    gts = tokenizer.tokenize({i: [{'caption': c} for c in caps] for i, caps in references.items()})
    res = tokenizer.tokenize({i: [{'caption': c}] for i, c in predictions.items()})
    builders = dict(Bleu=lambda: Bleu(4), METEOR=Meteor, ROUGE_L=Rouge, CIDEr=Cider, SPICE=Spice)
    scores = {}
    for name in scorers:
        score, _ = builders[name]().compute_score(gts, res)
        if name == 'Bleu':
            scores.update({f'Bleu_{n}': float(s) for n, s in enumerate(score, 1)})
        else:
            scores[name] = float(score)
    return scores


@METRICS.register_module()
class OfflineCOCOCaption(COCOCaption):
    """mmpretrain's ``COCOCaption`` metric, without network access.

    mmpretrain's metric runs ``COCOEvalCap.evaluate()``, which builds SPICE
    first and so downloads CoreNLP: offline it fails before any score. This one
    runs the same pycocoevalcap tokenizer and scorers itself and skips SPICE
    (with a warning) unless its jars are installed. Java is required.

    Args:
        ann_file (str): COCO-format ground truth (``images`` + ``annotations``
            with ``image_id`` and ``caption``), e.g. ``coco_karpathy_test_gt.json``.
        scorers (Sequence[str]): Scores to compute, out of
            ``('Bleu', 'METEOR', 'ROUGE_L', 'CIDEr', 'SPICE')``. Defaults to all.
        collect_device (str): 'cpu' or 'gpu'. Defaults to 'cpu'.
        prefix (str, optional): Metric name prefix. Defaults to 'COCOCaption'.
    """
    default_prefix = 'COCOCaption'

    def __init__(self, ann_file: str, scorers: Sequence[str] = ALL_SCORERS,
                 collect_device: str = 'cpu', prefix: Optional[str] = None):
        super().__init__(ann_file=ann_file, collect_device=collect_device, prefix=prefix)
        if not osp.isfile(ann_file):
            raise FileNotFoundError(f'Caption ground truth not found: {ann_file!r} '
                                    '(set `test_evaluator.ann_file`).')
        self.scorers = tuple(scorers)

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        """Scores of the predicted captions (first one per image) against the ground truth."""
        from pycocotools.coco import COCO
        references_by_image = COCO(self.ann_file).imgToAnns
        predictions = {}
        for result in results:
            predictions.setdefault(result['image_id'], result['caption'])
        missing = sorted(set(predictions) - set(references_by_image))
        if missing:
            raise KeyError(f'Image ids {missing[:5]} have predictions but no caption in '
                           f'{self.ann_file!r}.')
        references = {i: [ann['caption'] for ann in references_by_image[i]] for i in predictions}
        return score_captions(references, predictions, self.scorers)
