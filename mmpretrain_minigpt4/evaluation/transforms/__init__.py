from .multiple_choice_question import FormatMultipleChoiceQuestion

__all__ = ['FormatMultipleChoiceQuestion']
