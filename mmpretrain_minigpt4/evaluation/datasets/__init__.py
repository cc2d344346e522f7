from .hateful_memes import HatefulMemes
from .iconqa_candidates import IconQACandidates
from .minigptv2_refcoco import MiniGPTv2RefCOCO
from .official_gqa import OfficialGQA
from .official_vsr import OfficialVSR
from .vizwiz_all_questions import VizWizAllQuestions

__all__ = ['HatefulMemes', 'IconQACandidates', 'MiniGPTv2RefCOCO', 'OfficialGQA', 'OfficialVSR',
           'VizWizAllQuestions']
