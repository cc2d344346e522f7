from .blip_caption import BlipCaption, blip_caption
from .load_image_with_pil import LoadImageWithPIL
from .random_instruction import RandomInstruction

__all__ = ['BlipCaption', 'blip_caption', 'LoadImageWithPIL', 'RandomInstruction']
