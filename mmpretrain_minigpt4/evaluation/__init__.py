"""Benchmark evaluation: metrics, datasets, a sampler, a prompt transform and a drawing hook that
fix or complete mmpretrain's for the MiniGPT-4 benchmarks (all registered into
mmpretrain's registries on import)."""
import mmpretrain_minigpt4  # noqa: F401  (compat fixes before mmpretrain modules)

from .datasets import OfficialGQA, OfficialVSR, VizWizAllQuestions
from .hooks import PredictionVisualizationHook
from .metrics import (DumpPredictions, GQAAccuracy, OfflineCOCOCaption, ScienceQAAccuracy,
                      VQAEvalAcc, VSRAcc)
from .samplers import ImageGroupedSampler
from .transforms import FormatMultipleChoiceQuestion

__all__ = ['DumpPredictions', 'FormatMultipleChoiceQuestion', 'GQAAccuracy', 'OfficialGQA',
           'ImageGroupedSampler', 'OfficialVSR', 'OfflineCOCOCaption', 'PredictionVisualizationHook',
           'ScienceQAAccuracy', 'VQAEvalAcc', 'VSRAcc', 'VizWizAllQuestions']
