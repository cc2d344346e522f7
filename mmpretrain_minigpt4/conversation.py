"""Conversation templates and prompt assembly of the official MiniGPT-4 (pure text, no torch).

Datasets, the model and the chat API all build their prompts here, so a template
is changed in one place. Strings are the official ones (Vision-CAIR/MiniGPT-4,
``minigpt4/conversation/conversation.py`` and the train configs).
"""
from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

IMAGE_PLACEHOLDER = '<ImageHere>'
IMAGE_PROMPT = '<Img><ImageHere></Img>'

CHAT_SYSTEM_PROMPT = ('Give the following image: <Img>ImageContent</Img>. '
                      'You will be able to see the image once I provide it to you. '
                      'Please answer my questions.')

# ``prompts/alignment.txt``: the stage-2 instructions, one drawn per sample.
ALIGNMENT_INSTRUCTIONS = (
    'Describe this image in detail.',
    'Take a look at this image and describe what you notice.',
    'Please provide a detailed description of the picture.',
    'Could you describe the contents of this image for me?',
)


@dataclass(frozen=True)
class ConversationTemplate:
    """How one LLM family is prompted.

    Args:
        name (str): Registry key in :data:`TEMPLATES`.
        instruction_template (str | None): Single-turn training prompt with one
            ``{}`` for the user message (image prompt + instruction); also the
            ``predict`` prompt unless ``prediction_template`` is set. None for
            stage-1 pretraining (no prompt).
        end_sym (str): Appended to every training answer; generation stops there.
        system (str): Chat system prompt.
        roles (tuple[str, str]): Chat role prefixes (user, assistant).
        sep (str): Chat separator after the system prompt and every message.
        prediction_template (str | None): Single-turn ``predict`` prompt with
            one ``{}`` for the user message, where it differs from training.
            Defaults to None (``instruction_template``).
        text_only_template (str | None): Training prompt with one ``{}`` for
            an instruction that comes without an image (MiniGPT-v2's text-only
            data). Defaults to None (no text-only training).
    """
    name: str
    instruction_template: Optional[str]
    end_sym: str
    system: str = ''
    roles: Tuple[str, str] = ('', '')
    sep: str = ''
    prediction_template: Optional[str] = None
    text_only_template: Optional[str] = None


TEMPLATES = {
    t.name: t
    for t in (
        # Stage 1: image tokens then the caption, no instruction.
        ConversationTemplate('pretrain', None, '\n'),
        ConversationTemplate('vicuna_v0', '###Human: {} ###Assistant: ', '###',
                             CHAT_SYSTEM_PROMPT, ('Human: ', 'Assistant: '), '###'),
        ConversationTemplate('llama2', '[INST] {} [/INST] ', '</s>', CHAT_SYSTEM_PROMPT,
                             ('<s>[INST] ', ' [/INST] '), ''),
        # MiniGPT-v2. Training: its datasets end every user message with a space
        # ('<Img><ImageHere></Img> {} ') and wrap it in '[INST] {} [/INST]', so two
        # spaces precede '[/INST]'; BOS is an embedding put in front. Evaluation
        # (eval_utils.prepare_texts) and the demo write the chat's first turn,
        # '<s>' in text after the tokenizer's own BOS: the ids start [1, 1, ...].
        # A text-only instruction has no trailing space: one space before '[/INST]'.
        ConversationTemplate('minigptv2', '[INST] {}  [/INST]', '</s>', '',
                             ('<s>[INST] ', ' [/INST]'), '',
                             prediction_template='<s>[INST] {} [/INST]',
                             text_only_template='[INST] {} [/INST]'),
    )
}


def get_template(name: str) -> ConversationTemplate:
    """Look up a template by name, with an error listing the known ones."""
    if name not in TEMPLATES:
        raise KeyError(f'Unknown conversation template {name!r}; '
                       f'choose one of {sorted(TEMPLATES)}.')
    return TEMPLATES[name]


def build_instruction_prompt(template: ConversationTemplate, instruction: str) -> str:
    """Single-turn training prompt: the image followed by ``instruction`` in the template.

    >>> build_instruction_prompt(get_template('vicuna_v0'), 'Describe it.')
    '###Human: <Img><ImageHere></Img> Describe it. ###Assistant: '
    """
    if template.instruction_template is None:
        return ''
    return template.instruction_template.format(f'{IMAGE_PROMPT} {instruction}')


def build_prediction_prompt(template: ConversationTemplate, instruction: str) -> str:
    """Single-turn ``predict`` prompt: as :func:`build_instruction_prompt`, but in the
    template's ``prediction_template`` where it has one.

    >>> build_prediction_prompt(get_template('minigptv2'), '[vqa] What is it?')
    '<s>[INST] <Img><ImageHere></Img> [vqa] What is it? [/INST]'
    """
    if template.prediction_template is None:
        return build_instruction_prompt(template, instruction)
    return template.prediction_template.format(f'{IMAGE_PROMPT} {instruction}')


def build_text_only_prompt(template: ConversationTemplate, instruction: str) -> str:
    """Training prompt of an instruction without an image (MiniGPT-v2's unnatural
    instructions).

    >>> build_text_only_prompt(get_template('minigptv2'), 'Write a haiku.')
    '[INST] Write a haiku. [/INST]'

    Raises:
        ValueError: If the template has no text-only form.
    """
    if template.text_only_template is None:
        raise ValueError(f'Template {template.name!r} has no text-only training prompt: '
                         "samples without an image need the 'minigptv2' template.")
    return template.text_only_template.format(instruction)


def build_followup_prompt(template: ConversationTemplate, question: str) -> str:
    """A later question of a multi-turn training conversation: ``<s>`` in text, then
    the question in the training template (the official ``tokenize_conversation``).

    >>> build_followup_prompt(get_template('minigptv2'), 'And the dog?')
    '<s>[INST] And the dog?  [/INST]'
    """
    if template.instruction_template is None:
        raise ValueError(f'Template {template.name!r} takes no instruction, so no conversation.')
    return '<s>' + template.instruction_template.format(question)


def check_instruction_slot(instruction: str, setting: str) -> str:
    """An instruction template with exactly one ``{}`` for the question, else ValueError."""
    if not isinstance(instruction, str) or instruction.count('{}') != 1:
        raise ValueError(f'{setting} must hold exactly one {{}} where the question goes '
                         f"(e.g. '{{}} Answer in one word.'), got {instruction!r}.")
    try:
        instruction.format('question')
    except (IndexError, KeyError, ValueError) as error:
        raise ValueError(f'{setting} {instruction!r} is not a valid template: other braces '
                         f'must be doubled ({{{{ }}}}): {error!r}') from None
    return instruction


def check_question(question) -> str:
    """A question as a non-empty string, else ValueError (an empty one would be answered)."""
    if not isinstance(question, str):
        raise ValueError(f'A question must be a string, got {type(question).__name__}.')
    if not question.strip():
        raise ValueError('The question is empty: ask something about the image.')
    return question


def check_conversation(conversation) -> List[Tuple[str, str]]:
    """A training conversation as ``[(question, answer), ...]``: at least one turn, each a
    pair of strings with a non-empty question, else ValueError naming the turn."""
    if isinstance(conversation, (str, bytes)) or not isinstance(conversation, Sequence) or \
            not conversation:
        raise ValueError('A training `conversation` must be a non-empty list of '
                         f'[question, answer] pairs, got {conversation!r}.')
    turns = []
    for number, turn in enumerate(conversation):
        if (isinstance(turn, (str, bytes)) or not isinstance(turn, Sequence) or len(turn) != 2
                or not all(isinstance(text, str) for text in turn) or not turn[0].strip()):
            raise ValueError(f'Turn {number} of a training `conversation` must be a [question, '
                             f'answer] pair of strings with a non-empty question, got {turn!r}.')
        turns.append((turn[0], turn[1]))
    return turns


def split_prompt_at_image(prompt: str) -> Tuple[str, str]:
    """Split a prompt into the text before and after its one ``<ImageHere>``.

    An empty prompt (stage 1) gives ``('', '')``: the image comes first.

    Raises:
        ValueError: If a non-empty prompt has no or several placeholders.
    """
    if not prompt:
        return '', ''
    count = prompt.count(IMAGE_PLACEHOLDER)
    if count != 1:
        raise ValueError(f'A MiniGPT-4 prompt needs exactly one {IMAGE_PLACEHOLDER!r} '
                         f'(found {count}) in prompt {prompt!r}.')
    before, after = prompt.split(IMAGE_PLACEHOLDER)
    return before, after


def build_chat_prompt(template: ConversationTemplate,
                      messages: Sequence[Tuple[int, Optional[str]]]) -> str:
    """Multi-turn chat prompt, the official ``Conversation.get_prompt``.

    Args:
        template (ConversationTemplate): The chat template.
        messages (Sequence[tuple[int, str | None]]): ``(role_index, text)``
            with role 0 the user and 1 the assistant; a final ``None`` text
            leaves the assistant role open for generation.
    """
    prompt = template.system + template.sep
    for role, text in messages:
        if text is None:
            prompt += template.roles[role]
        else:
            prompt += template.roles[role] + text + template.sep
    return prompt


def strip_generated_text(text: str, template: ConversationTemplate) -> str:
    """Cut a generated answer at the template's stop strings, as the official chat does."""
    for stop in (template.end_sym, template.sep):
        if stop and stop.strip():
            text = text.split(stop)[0]
    # The model may echo the assistant role ('Assistant:', '[/INST]') first.
    marker = template.roles[1].strip()
    if marker:
        text = text.split(marker)[-1]
    return text.strip()
