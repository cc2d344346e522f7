"""Benchmark evaluation: metrics, datasets, a sampler, a prompt transform and a drawing hook that
fix or complete mmpretrain's for the MiniGPT-4 benchmarks (all registered into
mmpretrain's registries on import)."""
import mmpretrain_minigpt4  # noqa: F401  (compat fixes before mmpretrain modules)

from .datasets import (HatefulMemes, IconQACandidates, MiniGPTv2RefCOCO, OfficialGQA, OfficialVSR,
                       VizWizAllQuestions)
from .hooks import PredictionVisualizationHook
from .metrics import (DumpPredictions, GQAAccuracy, HatefulMemesAccuracy, IconQAAccuracy,
                      OfflineCOCOCaption, RefCOCOAccuracy, ScienceQAAccuracy, VQAEvalAcc, VSRAcc)
from .samplers import ImageGroupedSampler
from .transforms import FormatMultipleChoiceQuestion

__all__ = ['DumpPredictions', 'FormatMultipleChoiceQuestion', 'GQAAccuracy', 'HatefulMemes',
           'HatefulMemesAccuracy', 'IconQAAccuracy', 'IconQACandidates', 'ImageGroupedSampler',
           'MiniGPTv2RefCOCO', 'OfficialGQA', 'OfficialVSR', 'OfflineCOCOCaption',
           'PredictionVisualizationHook', 'RefCOCOAccuracy', 'ScienceQAAccuracy', 'VQAEvalAcc',
           'VSRAcc', 'VizWizAllQuestions']
