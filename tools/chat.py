"""Chat with MiniGPT-4 or MiniGPT-v2 about an image in the terminal; answers are streamed.

    python tools/chat.py minigpt-4_vicuna-7b_caption photo.jpg
    python tools/chat.py minigpt-4_llama2-7b_caption photo.jpg --greedy
    python tools/chat.py configs/minigpt4/minigpt-4_tiny_caption.py photo.jpg --random-weights

Local files (checkpoint, LLM directory) come from the environment variables of
docs/inference.md, or from --checkpoint / --llm. In the chat, type a question,
or ``/image PATH`` (new conversation about another image), ``/reset`` (new
conversation about the same image) or ``/quit``. Decoding defaults to the
official demo of the model's template (MiniGPT-v2: temperature 0.6, 500 new
tokens). A MiniGPT-v2 answer with boxes (``[grounding] ...``, ``[refer] ...``)
is followed by its boxes in pixels of the image, one ``phrase: x1, y1, x2, y2``
line each; ``--save-boxes DIR`` also saves the image with them drawn.
``--quantization 8bit|4bit`` (or ``--low-resource``, the official name for 8 bits)
loads the LLM through bitsandbytes.
"""
import argparse
import copy
import itertools
import os
import os.path as osp
import sys
from typing import Callable, Iterable, Iterator, List, Optional, Sequence

import mmcv
import numpy as np
import torch

import mmpretrain_minigpt4  # noqa: F401  (before mmpretrain: compat fixes, model names)
from mmpretrain_minigpt4.apis import Chat
from mmpretrain_minigpt4.grounding import GroundedAnswer
from mmpretrain_minigpt4.models.language_models.quantization import (
    add_quantization_arguments, low_memory_overrides, quantization_of)
from mmpretrain_minigpt4.visualization import draw_grounded_answer


def add_model_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments that choose the model, its local files and the decoding."""
    parser.add_argument('model', help="model name (mmpretrain.list_models('minigpt-4*')) "
                        'or config file')
    weights = parser.add_mutually_exclusive_group()
    weights.add_argument('--checkpoint', help='converted MiniGPT-4 checkpoint (default: the '
                         "model's $MINIGPT4_*_CKPT file)")
    weights.add_argument('--random-weights', action='store_true',
                         help='no checkpoint (tests, tiny model)')
    parser.add_argument('--seed', type=int,
                        help='seed torch before the model is built (--random-weights builds the '
                        'same weights for the same seed)')
    parser.add_argument('--llm', help="LLM directory (default: the model's $MINIGPT4_* "
                        'directory)')
    parser.add_argument('--device', help='e.g. cuda:0 (default: CPU)')
    add_quantization_arguments(parser)
    parser.add_argument('--greedy', action='store_true',
                        help='greedy decoding instead of the official demo sampling')
    # Unset: the official demo's (Chat's defaults for the model's template).
    parser.add_argument('--max-new-tokens', type=int,
                        help='default: 300 (MiniGPT-4), 500 (MiniGPT-v2)')
    parser.add_argument('--temperature', type=float,
                        help='default: 1.0 (MiniGPT-4), 0.6 (MiniGPT-v2)')
    parser.add_argument('--num-beams', type=int, help='default: 1')
    parser.add_argument('--max-length', type=int, default=2000,
                        help='prompt + answer tokens; older rounds are dropped beyond it')


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Chat with MiniGPT-4 about an image.')
    add_model_arguments(parser)
    parser.add_argument('image', help='image file to talk about')
    parser.add_argument('--save-boxes', metavar='DIR',
                        help='save each answer with boxes as DIR/<image>_boxes<N>.png')
    return parser.parse_args(argv)


def build_chat(args: argparse.Namespace) -> Chat:
    """The Chat that the command line describes."""
    if args.seed is not None:
        torch.manual_seed(args.seed)
    pretrained = False if args.random_weights else (args.checkpoint or True)
    model_overrides = model_overrides_of(args)
    given = dict(max_new_tokens=args.max_new_tokens, temperature=args.temperature,
                 num_beams=args.num_beams)
    generation_cfg = {key: value for key, value in given.items() if value is not None}
    if args.greedy:
        generation_cfg['do_sample'] = False
    return Chat(args.model, pretrained=pretrained, device=args.device,
                max_length=args.max_length, generation_cfg=generation_cfg, **model_overrides)


def model_overrides_of(args: argparse.Namespace) -> dict:
    """The ``model`` config overrides that ``--llm`` and ``--quantization`` /
    ``--low-resource`` ask for (the quantized weights load onto ``--device``)."""
    overrides = {}
    quantization = quantization_of(args)
    if quantization is not None:
        overrides = low_memory_overrides(quantization, args.device)
    if args.llm:
        overrides['llm'] = dict(overrides.get('llm', {}), name_or_path=args.llm)
    return overrides


def print_stream(partials: Iterable[str], write: Callable[[str], None]) -> str:
    """Write a growing answer as it grows; return the final text."""
    shown = ''
    for text in partials:
        # A half-written stop string ('#', '##') may be shown, then cut.
        write(text[len(shown):] if text.startswith(shown) else '\n' + text)
        shown = text
    write('\n')
    return shown


def answer_picture(chat: Chat) -> Optional[np.ndarray]:
    """The uploaded image (RGB) with the last answer's boxes drawn
    (:meth:`Chat.grounded_answer`); None for an answer without boxes."""
    answer = chat.grounded_answer()
    if answer is None or not answer.boxes:
        return None
    return draw_grounded_answer(chat.image, answer)


def box_lines(answer: GroundedAnswer) -> List[str]:
    """``phrase: x1, y1, x2, y2`` (whole pixels; ``box`` for a bare box) per box, then
    what could not be read."""
    lines = [f'  {phrase.text or "box"}: ' + ', '.join(f'{v:.0f}' for v in box)
             for phrase in answer.phrases for box in phrase.boxes]
    return lines + [f'  unread: {problem}' for problem in answer.problems]


def chat_loop(chat: Chat, image: str, lines: Iterable[str], write: Callable[[str], None],
              save_boxes: Optional[str] = None) -> None:
    """Run the conversation: each line is a question or a command.

    A turn that fails (a question too long for ``max_length``, an unreadable
    image, any error while answering) is reported in one line and undone: the
    conversation goes on as before it. With ``save_boxes`` (a directory, made
    if missing) every answer with boxes is saved drawn, numbered in order.
    """
    save_picture = picture_saver(save_boxes)
    chat.upload_image(image)
    write(f'Chatting about {image}. Commands: /image PATH, /reset, /quit\n')
    for line in lines:
        line = line.strip()
        if not line:
            continue
        if line == '/quit':
            return
        before = (chat.image, chat.image_tokens, copy.deepcopy(chat.messages))
        try:
            image = run_turn(chat, image, line, write, save_picture)
        except Exception as error:  # noqa: BLE001  (one failed turn must not end the chat)
            chat.image, chat.image_tokens, chat.messages = before
            message = ' '.join(str(error).split())
            write(f'error: {type(error).__name__}: {message}\n')


def picture_saver(directory: Optional[str]) -> Optional[Callable[[np.ndarray, str], str]]:
    """``save(rgb, image)``: writes ``directory/<image stem>_boxes<N>.png`` (N = 1, 2, ...
    in order) and returns its path; None without a directory."""
    if directory is None:
        return None
    os.makedirs(directory, exist_ok=True)
    numbers = itertools.count(1)

    def save(picture: np.ndarray, image: str) -> str:
        stem = osp.splitext(osp.basename(image))[0]
        path = osp.join(directory, f'{stem}_boxes{next(numbers)}.png')
        mmcv.imwrite(picture[..., ::-1], path)
        return path
    return save


def run_turn(chat: Chat, image: str, line: str, write: Callable[[str], None],
             save_picture: Optional[Callable[[np.ndarray, str], str]] = None) -> str:
    """Answer a question or run a command; returns the image talked about afterwards.

    A MiniGPT-v2 answer is followed by its boxes (:func:`box_lines`, none
    for most answers) and, with ``save_picture``, the path of its drawn
    picture if it has boxes.
    """
    if line == '/reset' or line.startswith('/image '):
        new_image = line[len('/image '):].strip() if line.startswith('/image ') else image
        chat.upload_image(new_image)
        write(f'New conversation about {new_image}.\n')
        return new_image
    chat.ask(line)
    partials = chat.stream_answer()
    # The prompt is built, and may be refused, before anything of the answer is shown.
    first = next(partials, '')
    write('MiniGPT-4: ')
    try:
        print_stream(itertools.chain([first], partials), write)
    except Exception:
        write('\n')  # the error goes on a line of its own
        raise
    answer = chat.grounded_answer()
    if answer is not None:
        write(''.join(line + '\n' for line in box_lines(answer)))
        if answer.boxes and save_picture is not None:
            path = save_picture(draw_grounded_answer(chat.image, answer), image)
            write(f'  drawn: {path}\n')
    return image


def read_lines(prompt: str = 'You: ') -> Iterator[str]:
    """Lines typed by the user until end of input or Ctrl-C."""
    while True:
        try:
            yield input(prompt)
        except (EOFError, KeyboardInterrupt):
            return


def main(argv: Optional[Sequence[str]] = None) -> None:
    args = parse_args(argv)
    chat = build_chat(args)

    def write(text: str) -> None:
        sys.stdout.write(text)
        sys.stdout.flush()

    chat_loop(chat, args.image, read_lines(), write, args.save_boxes)


if __name__ == '__main__':
    main()
