from .official_gqa import OfficialGQA
from .official_vsr import OfficialVSR
from .vizwiz_all_questions import VizWizAllQuestions

__all__ = ['OfficialGQA', 'OfficialVSR', 'VizWizAllQuestions']
