"""Local web demo: chat with MiniGPT-4 about an uploaded image, answers streamed.

    pip install 'gradio>=6'
    python tools/demo_gradio.py minigpt-4_vicuna-7b_caption --port 7860

Serves on 127.0.0.1 (``--host`` to change) and never asks for a public share
link. Model arguments are those of ``tools/chat.py``. The page holds one
conversation: the model and its chat are shared by every browser tab.
"""
import argparse
from functools import partial
from typing import Iterator, List, Optional, Sequence

from chat import add_model_arguments, build_chat  # tools/chat.py

from mmpretrain_minigpt4.apis import Chat

# Gradio's chat history: {'role': 'user' | 'assistant', 'content': str} per message.
History = List[dict]


def start_conversation(chat: Chat, image) -> History:
    """Image-upload callback: a new, empty conversation about ``image`` (the uploaded
    file's path, decoded as in training; a PIL image works too)."""
    if image is None:
        chat.reset()
        return []
    try:
        chat.upload_image(image)
    except (OSError, ValueError) as error:
        chat.reset()
        return [{'role': 'assistant', 'content': f'This file cannot be used: {error}'}]
    return []


def stream_reply(chat: Chat, question: str, history: History, temperature: float,
                 num_beams: int) -> Iterator[History]:
    """Send callback: ask ``question`` and yield the history with the answer so far.

    Every slider combination answers: beam search (``num_beams > 1``) answers
    in one piece; a setting or question the chat refuses is answered with
    its message, and the conversation goes on.
    """
    question = question.strip()
    if not question:
        yield history
        return
    history = history + [{'role': 'user', 'content': question}]
    if chat.image_tokens is None:
        yield history + [{'role': 'assistant', 'content': 'Please upload an image first.'}]
        return
    chat.ask(question)
    try:
        for answer_so_far in chat.stream_answer(temperature=temperature,
                                                num_beams=int(num_beams)):
            yield history + [{'role': 'assistant', 'content': answer_so_far}]
    except ValueError as error:
        chat.withdraw_question()
        yield history + [{'role': 'assistant', 'content': f'Not answered: {error}'}]


def build_demo(chat: Chat):
    """The gradio Blocks page (gradio is imported here: it is an optional dependency)."""
    import gradio as gr

    with gr.Blocks(title='MiniGPT-4') as demo:
        gr.Markdown('# MiniGPT-4\nUpload an image, then ask about it.')
        with gr.Row():
            with gr.Column(scale=1):
                # A file path: decoded by the plugin exactly as in training.
                image = gr.Image(type='filepath', label='Image')
                temperature = gr.Slider(0.1, 2.0, value=1.0, step=0.1, label='Temperature')
                num_beams = gr.Slider(1, 10, value=1, step=1, label='Beams')
                restart = gr.Button('Restart the conversation')
            with gr.Column(scale=2):
                chatbot = gr.Chatbot(label='MiniGPT-4')
                question = gr.Textbox(placeholder='Ask about the image and press Enter',
                                      show_label=False)

        image.change(partial(start_conversation, chat), image, chatbot, api_name='upload')
        restart.click(partial(start_conversation, chat), image, chatbot, api_name='restart')
        question.submit(partial(stream_reply, chat), [question, chatbot, temperature, num_beams],
                        chatbot, api_name='ask').then(lambda: '', None, question)
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
    # One generation at a time: the chat and the model are shared.
    demo.queue(default_concurrency_limit=1).launch(
        server_name=args.host, server_port=args.port, share=False)


if __name__ == '__main__':
    main()
