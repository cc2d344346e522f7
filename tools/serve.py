"""Serve MiniGPT-4 over an OpenAI-compatible HTTP API, with streaming and dynamic batching.

    python tools/serve.py minigpt-4_vicuna-7b_caption --device cuda:0 --greedy
    python tools/serve.py configs/minigpt4/minigpt-4_tiny_caption.py --random-weights --port 8000

Then ``POST /v1/chat/completions`` (OpenAI's format, ``stream`` too),
``GET /v1/models`` and ``GET /health`` on http://127.0.0.1:8000; see
docs/serving.md. Model arguments are those of ``tools/chat.py``; its decoding
flags are the defaults of requests that do not set their own. Listens on
127.0.0.1 unless ``--host`` says otherwise; set ``--api-key`` (or
``$MINIGPT4_API_KEY``) before opening it to a network. SIGTERM finishes the
requests in flight (within ``--shutdown-timeout``) and exits 0.
"""
import argparse
import ipaddress
import logging
import os
import os.path as osp
import signal
import sys
from typing import Optional, Sequence

import uvicorn
from chat import add_model_arguments, build_chat  # tools/chat.py

from mmpretrain_minigpt4.serving import DynamicBatcher, ServedModel, ServerSettings, create_app

API_KEY_VARIABLE = 'MINIGPT4_API_KEY'


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f'must be an integer >= 1, got {text}')
    return value


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    add_model_arguments(parser)
    parser.add_argument('--served-model-name', help='the name clients send as `model` '
                        '(default: MODEL, or the config file name without .py)')
    parser.add_argument('--repetition-penalty', type=float,
                        help="default of every request (default: tools/chat.py's, the "
                        'official demo\'s 1.05; see docs/serving.md on batching with it)')
    parser.add_argument('--host', default='127.0.0.1')
    parser.add_argument('--port', type=int, default=8000)
    batching = parser.add_argument_group('dynamic batching')
    batching.add_argument('--max-batch-size', type=positive_int, default=8,
                          help='requests per batched generation at most')
    batching.add_argument('--batch-wait-ms', type=float, default=20.0,
                          help='how long the first request of a batch waits for others')
    limits = parser.add_argument_group('limits')
    limits.add_argument('--max-queue-size', type=positive_int, default=64,
                        help='requests waiting for a batch at most; more get 503 + Retry-After')
    limits.add_argument('--max-request-bytes', type=positive_int, default=20 * 2**20,
                        help='largest request body (413 above)')
    limits.add_argument('--max-image-pixels', type=positive_int, default=4096 * 4096,
                        help='largest image, width x height')
    limits.add_argument('--image-dir', help='directory that file:// image URLs may point '
                        'into (default: local files are refused)')
    limits.add_argument('--api-key', default=os.environ.get(API_KEY_VARIABLE),
                        help=f'require "Authorization: Bearer KEY" on /v1 (default: '
                        f'${API_KEY_VARIABLE})')
    limits.add_argument('--shutdown-timeout', type=float, default=30.0,
                        help='seconds in-flight requests may take to finish after SIGTERM')
    parser.add_argument('--log-level', default='info',
                        choices=['critical', 'error', 'warning', 'info', 'debug'])
    args = parser.parse_args(argv)
    if args.batch_wait_ms < 0:
        parser.error('--batch-wait-ms must be >= 0')
    if args.image_dir is not None and not osp.isdir(args.image_dir):
        parser.error(f'--image-dir {args.image_dir!r} is not a directory')
    return args


def served_model_name(model: str) -> str:
    """A ModelHub name as it is; a config path -> its file name without ``.py``."""
    return osp.splitext(osp.basename(model))[0] if model.endswith('.py') else model


def is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == 'localhost'


def build_app(args: argparse.Namespace):
    """The model (as ``tools/chat.py`` builds it), its batcher and the application."""
    overrides = {} if args.repetition_penalty is None else dict(
        repetition_penalty=args.repetition_penalty)
    model = ServedModel(build_chat(args), args.served_model_name or served_model_name(args.model),
                        overrides)
    batcher = DynamicBatcher(model, max_batch_size=args.max_batch_size,
                             batch_wait_s=args.batch_wait_ms / 1000,
                             max_queue_size=args.max_queue_size)
    settings = ServerSettings(
        max_request_bytes=args.max_request_bytes, max_image_pixels=args.max_image_pixels,
        image_dir=args.image_dir, api_key=args.api_key, shutdown_timeout=args.shutdown_timeout)
    return create_app(model, batcher, settings)


def exit_successfully(signum, frame) -> None:
    raise SystemExit(0)


def main(argv: Optional[Sequence[str]] = None) -> None:
    args = parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format='%(levelname)s: %(message)s')
    if not is_loopback(args.host) and not args.api_key:
        logging.warning('Listening on %s without --api-key: anyone who reaches the port can '
                        'use the model.', args.host)
    app = build_app(args)
    # uvicorn finishes the requests in flight on SIGTERM, then raises the signal again
    # under the handler it found: a stop asked for by SIGTERM then exits 0.
    signal.signal(signal.SIGTERM, exit_successfully)
    uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level,
                timeout_graceful_shutdown=args.shutdown_timeout)


if __name__ == '__main__':
    sys.exit(main())
