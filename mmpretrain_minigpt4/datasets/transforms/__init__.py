from .blip_caption import BlipCaption, blip_caption
from .build_instruction_prompt import BuildInstructionPrompt

__all__ = ['BlipCaption', 'blip_caption', 'BuildInstructionPrompt']
