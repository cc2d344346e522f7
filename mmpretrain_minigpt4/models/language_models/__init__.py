from .hf_causal_lm import build_hf_causal_lm
from .stop_on_text import StopOnText

__all__ = ['build_hf_causal_lm', 'StopOnText']
