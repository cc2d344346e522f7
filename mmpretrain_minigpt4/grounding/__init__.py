"""MiniGPT-v2 grounding as text: task tokens, official instructions, boxes written and read."""
from .box_text import (BOX_GRID, GridBox, GroundedAnswer, Phrase, coco_to_corners, format_box,
                       format_boxes, format_phrase, parse_grounded_text, to_grid)
from .task_instructions import (INSTRUCTION_POOLS, REFER_EVALUATION_INSTRUCTION, TASK_TOKENS,
                                task_instruction)

__all__ = [
    'BOX_GRID', 'GridBox', 'GroundedAnswer', 'INSTRUCTION_POOLS', 'Phrase',
    'REFER_EVALUATION_INSTRUCTION', 'TASK_TOKENS', 'coco_to_corners', 'format_box',
    'format_boxes', 'format_phrase', 'parse_grounded_text', 'task_instruction', 'to_grid'
]
