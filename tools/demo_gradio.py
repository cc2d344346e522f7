"""Local web demo: chat with MiniGPT-4 or MiniGPT-v2 about an uploaded image, answers streamed.

    pip install 'gradio>=6'
    python tools/demo_gradio.py minigpt-4_vicuna-7b_caption --port 7860

Serves on 127.0.0.1 (``--host`` to change) and never asks for a public share
link. Model arguments are those of ``tools/chat.py``; the settings start at
the official demo's of the model's template (MiniGPT-v2: temperature 0.6, 500
new tokens).

Every browser session (tab) has its own conversation and image: a
:class:`Chat` on the one shared model, kept in gradio session state, as the
official demo keeps its ``chat_state``. An upload or a restart starts a new
conversation in that session only. Generations (and image encodings) run one
at a time on the shared model, in the order sent (queue concurrency 1): the
questions of several sessions are answered one after another, each in its own
conversation.

A MiniGPT-v2 answer with boxes (``[grounding] describe this image in
detail``, ``[refer] the cat``, ...) is followed, below the chat, by the image
with its boxes drawn and labelled, as the official ``demo_v2.py`` shows them
after the answer; any other answer shows no picture.
"""
import argparse
import contextlib
import html
import os.path as osp
from typing import Iterator, List, Optional, Sequence, Tuple

import numpy as np
from chat import add_model_arguments, answer_picture, build_chat  # tools/chat.py

from mmpretrain_minigpt4.apis import Chat
from mmpretrain_minigpt4.datasets.image_decoding import UnreadableImageError

# Gradio's chat history: {'role': 'user' | 'assistant', 'content': str} per message (the
# text HTML-escaped, see `message`).
History = List[dict]

NO_IMAGE_MESSAGE = 'Please upload an image first.'


def message(role: str, text: str) -> dict:
    """A chat history message showing ``text`` exactly (the chatbot shows its messages as
    HTML, without Markdown: a generated ``'</'`` would hide the rest of an answer)."""
    return {'role': role, 'content': html.escape(text, quote=False)}


def session_chat(shared: Chat, chat: Optional[Chat]) -> Chat:
    """A session's Chat: ``chat``, or a new one on ``shared``'s model and settings.

    Sessions start with no Chat (gradio deep-copies a state's initial value
    for every session, and a copy of the model must never be made).
    """
    if chat is not None:
        return chat
    return Chat(shared.inferencer, max_length=shared.max_length,
                generation_cfg=shared.generation_cfg)


def unusable_file_message(path: str, error: Exception) -> str:
    """What the page says about an upload that is not an image it can read."""
    name = osp.basename(path)
    reason = error.reason if isinstance(error, UnreadableImageError) else str(error)
    return (f'Cannot use {name}: it is not an image this demo can read ({reason}). '
            'Please upload a photo (JPEG, PNG, ...).')


def start_conversation(shared: Chat, chat: Optional[Chat],
                       image: Optional[str]) -> Tuple[Chat, History, Optional[str]]:
    """Upload and restart callback: a new, empty conversation about ``image`` in
    this session.

    Args:
        shared (Chat): The demo's Chat, whose model and settings sessions share.
        chat (Chat, optional): This session's Chat (None before its first upload).
        image (str, optional): The uploaded file's path, or for a restart the
            shown image's (decoded as in training; a PIL image works too); None
            for a restart without an image.

    Returns:
        tuple: The session's Chat, the chat history (empty, or the message
        about a file that is not an image) and the image to show (None if none).
    """
    chat = session_chat(shared, chat)
    if image is None:
        chat.reset()
        return chat, [], None
    try:
        chat.upload_image(image)
    except (OSError, ValueError) as error:
        chat.reset()
        return chat, [message('assistant', unusable_file_message(str(image), error))], None
    return chat, [], image


def stream_reply(chat: Optional[Chat], question: str, history: History, do_sample: bool,
                 temperature: float, num_beams: int,
                 max_new_tokens: int) -> Iterator[History]:
    """Send callback: ask ``question`` in this session; yield the history with the
    question, then with the answer so far.

    Every combination of the settings answers: beam search (``num_beams > 1``,
    with or without sampling) answers in one piece; ``temperature`` applies
    to sampling only; a question or setting the chat refuses, or a failed
    generation, is answered with its message, and the conversation goes on as
    before the question.
    """
    question = question.strip()
    if not question:
        yield history
        return
    history = history + [message('user', question)]
    if chat is None or chat.image_tokens is None:
        yield history + [message('assistant', NO_IMAGE_MESSAGE)]
        return
    yield history
    try:
        chat.ask(question)
        for answer_so_far in chat.stream_answer(do_sample=do_sample, temperature=temperature,
                                                num_beams=int(num_beams),
                                                max_new_tokens=int(max_new_tokens)):
            yield history + [message('assistant', answer_so_far)]
    except Exception as error:  # noqa: BLE001  (shown in the page; the chat goes on)
        yield history + [message('assistant', f'Not answered: {error}')]
    finally:
        # A failed answer, or one left unfinished (the page closed mid-stream),
        # leaves no unanswered question behind; after an answer this does nothing.
        chat.withdraw_question()


def stream_reply_with_boxes(chat: Optional[Chat], question: str, history: History,
                            *settings) -> Iterator[Tuple[History, Optional[np.ndarray]]]:
    """:func:`stream_reply` (same arguments), each history with None for the picture;
    then, if the question was answered with boxes, the last history again with the
    image with them drawn (RGB)."""
    messages_before = len(chat.messages) if chat is not None else 0
    shown = history
    with contextlib.closing(stream_reply(chat, question, history, *settings)) as replies:
        for shown in replies:
            yield shown, None
    # A failed or refused question was withdrawn: no new answer, no picture.
    if chat is not None and len(chat.messages) > messages_before:
        picture = answer_picture(chat)
        if picture is not None:
            yield shown, picture


def build_demo(chat: Chat):
    """The gradio Blocks page; ``chat``'s model and settings serve every session
    (gradio is imported here: it is an optional dependency)."""
    import gradio as gr

    settings = chat.generation_cfg
    name = 'MiniGPT-v2' if chat.style.grounded else 'MiniGPT-4'
    intro = 'Upload an image, then ask about it.'
    if chat.style.grounded:
        intro += (' Task tokens: `[grounding] describe this image in detail`, `[refer] a '
                  'phrase`, `[detection] a phrase`, `[identify] {<x1><y1><x2><y2>}`, `[vqa] '
                  'a question` (boxes on a 0-100 grid).')
    with gr.Blocks(title=name) as demo:
        gr.Markdown(f'# {name}\n{intro}')
        session = gr.State(None)  # this browser session's Chat, made at its first upload
        with gr.Row():
            with gr.Column(scale=1):
                # A file path, decoded by the plugin exactly as in training. Uploads go
                # through a button, not gr.Image (which fails on a file that is not an
                # image before any callback runs), so the page can say what is wrong.
                image = gr.Image(label='Image', type='filepath', image_mode=None,
                                 interactive=False, height=280)
                upload = gr.UploadButton('Upload an image', file_types=['image'],
                                         type='filepath')
                do_sample = gr.Checkbox(settings['do_sample'], label='Sample (off: greedy '
                                        'or beam search)')
                temperature = gr.Slider(0.1, 2.0, value=settings['temperature'], step=0.1,
                                        label='Temperature (sampling)')
                num_beams = gr.Slider(1, max(10, settings['num_beams']),
                                      value=settings['num_beams'], step=1, label='Beams')
                max_new_tokens = gr.Slider(
                    1, max(chat.max_length // 2, settings['max_new_tokens']),
                    value=settings['max_new_tokens'], step=1, label='Max new tokens')
                restart = gr.Button('Restart the conversation')
            with gr.Column(scale=2):
                # No Markdown: an answer is shown exactly as generated.
                chatbot = gr.Chatbot(label=name, render_markdown=False, height=480)
                question = gr.Textbox(placeholder='Ask about the image and press Enter',
                                      show_label=False)
                # PNG: the drawn colours exactly (the default WebP is lossy).
                boxes = gr.Image(label='Boxes of the answer', type='numpy', format='png',
                                 interactive=False, visible=False, elem_id='answer-boxes')

        def picture_update(picture: Optional[np.ndarray]) -> dict:
            return gr.update(value=picture, visible=picture is not None)

        def new_conversation(session: Optional[Chat], image_path: Optional[str]):
            return (*start_conversation(chat, session, image_path), picture_update(None))

        def reply(*inputs):
            with contextlib.closing(stream_reply_with_boxes(*inputs)) as replies:
                for history, picture in replies:
                    yield history, picture_update(picture)

        # Everything that uses the model (image encoding, generation) runs one at a
        # time, in the order sent: a restart is done before the question after it.
        one_at_a_time = dict(concurrency_id='model', concurrency_limit=1)
        conversation = [session, chatbot, image, boxes]
        upload.upload(new_conversation, [session, upload], conversation, api_name='upload',
                      **one_at_a_time)
        restart.click(new_conversation, [session, image], conversation, api_name='restart',
                      **one_at_a_time)
        # The chatbot's own clear button restarts too (else the chat would go on unseen).
        chatbot.clear(new_conversation, [session, image], conversation, **one_at_a_time)
        asked = question.submit(reply, [session, question, chatbot, do_sample, temperature,
                                        num_beams, max_new_tokens],
                                [chatbot, boxes], api_name='ask', **one_at_a_time)
        asked.then(lambda: '', None, question)
    return demo


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Local MiniGPT-4 chat demo in the browser.')
    add_model_arguments(parser)
    parser.add_argument('--host', default='127.0.0.1')
    parser.add_argument('--port', type=int, default=7860)
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> None:
    args = parse_args(argv)
    demo = build_demo(build_chat(args))
    # One generation at a time: every session's Chat shares the model.
    demo.queue(default_concurrency_limit=1).launch(
        server_name=args.host, server_port=args.port, share=False)


if __name__ == '__main__':
    main()
