"""OpenAI chat messages -> one MiniGPT-4 conversation: the prompt text and where its image is.

MiniGPT-4 talks about one image per conversation, given with the first
question, so the messages map to the conversation :class:`~..apis.Chat` keeps:
the first user message becomes ``'<Img><ImageHere></Img> question'`` (the
image goes first, wherever its part is in the message), later messages follow
as they are, and the prompt is the template's official chat prompt
(:func:`~..conversation.build_chat_prompt`) with the assistant role left open.
A system message (first, at most one) replaces the template's system text.
A first user message with only the image asks for the model's caption
instruction (``Describe this image in detail.``).
"""
import dataclasses
from dataclasses import dataclass
from typing import List, Optional, Tuple

from ..apis.chat import ASSISTANT, USER
from ..conversation import (IMAGE_PROMPT, ConversationTemplate, build_chat_prompt,
                            check_question)
from .errors import RequestError

MESSAGE_KEYS = ('role', 'content', 'name')
ROLES = {'system': None, 'user': USER, 'assistant': ASSISTANT}


@dataclass(frozen=True)
class RequestConversation:
    """What a request's messages say.

    Attributes:
        system (str | None): The system message, replacing the template's
            system text; None keeps it.
        messages (tuple): ``(role, text)`` as ``Chat.messages`` holds them
            (role 0 the user, 1 the assistant), the first user text starting
            with ``'<Img><ImageHere></Img> '``.
        image_url (str): The one image's ``image_url.url``.
        image_param (str): Where it is (``'messages[0].content[1].image_url.url'``).
    """
    system: Optional[str]
    messages: Tuple[Tuple[int, str], ...]
    image_url: str
    image_param: str


def build_request_prompt(template: ConversationTemplate,
                         conversation: RequestConversation) -> str:
    """The prompt of the answer: the template's chat prompt, the assistant role open."""
    if conversation.system is not None:
        template = dataclasses.replace(template, system=conversation.system)
    return build_chat_prompt(template, [*conversation.messages, (ASSISTANT, None)])


def parse_messages(messages: list, caption_instruction: str) -> RequestConversation:
    """Read OpenAI ``messages`` (a non-empty list) into a conversation.

    Raises:
        RequestError: Naming the message or part at fault: a system message
            that is not first, a conversation that does not start and end
            with a user message, no image, an image outside the first user
            message or a second image, an empty question, an unknown role or
            part type.
    """
    system, turns, image = None, [], None
    for index, message in enumerate(messages):
        where = f'messages[{index}]'
        role, content = _read_message(message, where)
        if role == 'system':
            if index:
                raise RequestError('A system message must be the first message.',
                                   param=f'{where}.role', code='invalid_value')
            system = _text(content, f'{where}.content', 'system')
        elif role == 'assistant':
            if not turns:
                raise RequestError('The conversation must start with a user message (after '
                                   'an optional system message).', param=f'{where}.role',
                                   code='invalid_value')
            turns.append((ASSISTANT, _text(content, f'{where}.content', 'assistant').strip()))
        else:
            first = not any(r == USER for r, _ in turns)
            text, images = _user_content(content, f'{where}.content')
            if images and not first:
                raise RequestError(
                    'MiniGPT-4 talks about one image per conversation, given in the first '
                    'user message; start a new conversation for another image.',
                    param=images[0][1], code='image_not_in_first_message')
            if len(images) > 1:
                raise RequestError('A second image: MiniGPT-4 takes one image per '
                                   'conversation.', param=images[1][1], code='too_many_images')
            if first:
                if not images:
                    raise RequestError(
                        'No image: the first user message needs an image_url part (MiniGPT-4 '
                        'answers about one image).', param=f'{where}.content',
                        code='image_missing')
                image = images[0]
                question = text.strip() or caption_instruction
                turns.append((USER, f'{IMAGE_PROMPT} {question}'))
            else:
                turns.append((USER, _question(text, f'{where}.content')))
    if not turns:
        raise RequestError('No user message: nothing to answer.', param='messages',
                           code='invalid_value')
    if turns[-1][0] != USER:
        raise RequestError('The last message must be a user message: it is the one answered.',
                           param=f'messages[{len(messages) - 1}].role', code='invalid_value')
    url, part = image
    return RequestConversation(system, tuple(turns), url, f'{part}.image_url.url')


def _read_message(message, where: str) -> Tuple[str, object]:
    if not isinstance(message, dict):
        raise RequestError(f'{where} must be an object with a role and a content.',
                           param=where, code='invalid_value')
    for key in message:
        if key not in MESSAGE_KEYS:
            raise RequestError(f'Unsupported message field {key!r}; a message has '
                               f'{", ".join(MESSAGE_KEYS)}.', param=f'{where}.{key}',
                               code='unsupported_parameter')
    role = message.get('role')
    if role not in ROLES:
        raise RequestError(f"The role must be 'system', 'user' or 'assistant', got {role!r}.",
                           param=f'{where}.role', code='invalid_value')
    if 'content' not in message or message['content'] is None:
        raise RequestError('The message has no content.', param=f'{where}.content',
                           code='missing_required_parameter')
    return role, message['content']


def _parts(content, where: str) -> List[Tuple[str, dict]]:
    """The content parts with their params; a string is one text part."""
    if isinstance(content, str):
        return [(where, {'type': 'text', 'text': content})]
    if not isinstance(content, list):
        raise RequestError('The content must be a string or a list of content parts.',
                           param=where, code='invalid_value')
    parts = []
    for index, part in enumerate(content):
        param = f'{where}[{index}]'
        kind = part.get('type') if isinstance(part, dict) else None
        if kind == 'text':
            if not isinstance(part.get('text'), str):
                raise RequestError('A text part needs a string "text".', param=f'{param}.text',
                                   code='invalid_value')
        elif kind == 'image_url':
            image_url = part.get('image_url')
            if not isinstance(image_url, dict) or not isinstance(image_url.get('url'), str):
                raise RequestError('An image_url part needs {"image_url": {"url": "data:..."}}.',
                                   param=f'{param}.image_url', code='invalid_value')
        else:
            raise RequestError(f"A content part's type must be 'text' or 'image_url', got "
                               f'{kind!r}.', param=f'{param}.type', code='invalid_value')
        parts.append((param, part))
    return parts


def _text(content, where: str, role: str) -> str:
    """The text of a message that takes no image; parts are joined with spaces."""
    texts = []
    for param, part in _parts(content, where):
        if part['type'] != 'text':
            raise RequestError(f'A {role} message takes text only; the image goes in the '
                               'first user message.', param=param, code='invalid_value')
        texts.append(part['text'])
    return ' '.join(texts)


def _user_content(content, where: str) -> Tuple[str, List[Tuple[str, str]]]:
    """A user message's text (parts joined with spaces) and its images as ``(url, param)``."""
    texts, images = [], []
    for param, part in _parts(content, where):
        if part['type'] == 'text':
            texts.append(part['text'])
        else:
            images.append((part['image_url']['url'], param))
    return ' '.join(t.strip() for t in texts if t.strip()), images


def _question(text: str, where: str) -> str:
    try:
        return check_question(text).strip()
    except ValueError as error:
        raise RequestError(str(error), param=where, code='invalid_value') from None
