"""MiniGPT-v2's task tokens and the official instruction pools of each task (the
training datasets of Vision-CAIR/MiniGPT-4 draw one at random per sample)."""
from typing import Dict, Tuple

TASK_TOKENS = ('[grounding]', '[refer]', '[detection]', '[identify]', '[vqa]', '[caption]')

# '{}' is the task's input: an expression, a box text, a phrase or a question.
INSTRUCTION_POOLS: Dict[str, Tuple[str, ...]] = {
    # Flickr30k grounded captions: the answer marks phrases with their boxes.
    'grounding': (
        '[grounding] please describe this image in details',
        '[grounding] describe this image as detailed as possible',
        '[grounding] summarize this image in details',
        '[grounding] give a thorough description of what you see in this image',
    ),
    # RefCOCO/+/g and Visual Genome: an expression -> its box.
    'refer': (
        '[refer] {}',
        '[refer] give me the location of {}',
        '[refer] where is {} ?',
        '[refer] from this image, tell me the location of {}',
        '[refer] the location of {} is',
        '[refer] could you tell me the location for {} ?',
        '[refer] where can I locate the {} ?',
    ),
    # The inverse: a box -> its expression.
    'identify': (
        '[identify] {}',
        '[identify] what object is in this location {}',
        '[identify] identify the object present at this location {}',
        '[identify] what is it in {}',
        '[identify] describe this object in {}',
        '[identify] this {} is',
        '[identify] the object in {} is',
    ),
    # Flickr30k caption-to-boxes and phrase-to-boxes.
    'detection': ('[detection] {}', ),
    # COCO-VQA, OK-VQA, A-OKVQA, GQA, OCR-VQA.
    'vqa': (
        '[vqa] {}',
        '[vqa] Based on the image, respond to this question with a short answer: {}',
    ),
    # COCO captions and TextCaps: '[caption] ' is put before one of these.
    'caption': (
        'Briefly describe this image.',
        'Provide a concise depiction of this image.',
        'Present a short description of this image.',
        'Summarize this image in a few words.',
        'A short image caption:',
        'A short image description:',
        'A photo of ',
        'An image that shows ',
        'Write a short description for the image. ',
        'Write a description for the photo.',
        'Provide a description of what is presented in the photo.',
        'Briefly describe the content of the image.',
        'Can you briefly explain what you see in the image?',
        'Could you use a few words to describe what you perceive in the photo?',
        'Please provide a short depiction of the picture.',
        'Using language, provide a short account of the image.',
        'Use a few words to illustrate what is happening in the picture.',
    ),
}

# The evaluation prompts of the official eval_scripts.
REFER_EVALUATION_INSTRUCTION = '[refer] give me the location of {}'


def task_instruction(task: str, index: int, task_input: str = '') -> str:
    """The ``index``-th official instruction of ``task`` with its input filled in
    (the caption pool gets its ``[caption]`` token, as the official datasets).

    Raises:
        KeyError: For an unknown task, listing the known ones.
        IndexError: For an index outside the task's pool.
    """
    if task not in INSTRUCTION_POOLS:
        raise KeyError(f'Unknown MiniGPT-v2 task {task!r}; tasks: {sorted(INSTRUCTION_POOLS)}.')
    pool = INSTRUCTION_POOLS[task]
    if not 0 <= index < len(pool):
        raise IndexError(f'Task {task!r} has {len(pool)} instructions, not an index {index}.')
    if task == 'caption':
        return f'[caption] {pool[index]}'
    return pool[index].format(task_input) if '{}' in pool[index] else pool[index]
