from .vizwiz_all_questions import VizWizAllQuestions

__all__ = ['VizWizAllQuestions']
