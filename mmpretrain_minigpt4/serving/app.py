"""The FastAPI application: OpenAI's ``POST /v1/chat/completions``, ``GET /v1/models``,
``GET /health``.

A request is checked whole before it is queued (JSON, fields, model name,
messages, prompt length, image), each refusal a 4xx in OpenAI's error format
naming the field. Streamed answers are server-sent events in OpenAI's chunk
format, ending with ``data: [DONE]``. A client that disconnects cancels its
request: it leaves the queue, or its row stops being generated for it.
Shutdown (SIGTERM) lets uvicorn finish the requests in flight, then the
batcher drains within ``shutdown_timeout``.
"""
import asyncio
import hmac
import logging
import time
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import partial
from typing import AsyncIterator, Optional, Union

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response, StreamingResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from .batcher import DynamicBatcher, Failed, Finished, GenerationJob, ServerBusy, TextDelta
from .errors import RequestError, error_body
from .openai_schema import (ChatCompletionRequest, chat_completion, chat_completion_chunk,
                            completion_id, model_list, parse_chat_request, parse_json_body,
                            server_event, usage)
from .request_conversation import RequestConversation, build_request_prompt, parse_messages
from .request_image import ImageLimits, read_request_image
from .request_size_limit import RequestSizeLimit
from .served_model import ServedModel

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ServerSettings:
    """Limits and access of the server.

    Args:
        max_request_bytes (int): Largest request body (413 above). Defaults
            to 20 MiB.
        max_image_pixels (int): Largest image, width x height. Defaults to
            4096 x 4096.
        image_dir (str, optional): Where ``file://`` image URLs may point;
            None refuses local files. Defaults to None.
        api_key (str, optional): If set, ``/v1/*`` needs
            ``Authorization: Bearer <api_key>`` (401 otherwise).
        shutdown_timeout (float): Seconds the batcher may take to answer
            what is left at shutdown. Defaults to 30.
    """
    max_request_bytes: int = 20 * 2**20
    max_image_pixels: int = 4096 * 4096
    image_dir: Optional[str] = None
    api_key: Optional[str] = None
    shutdown_timeout: float = 30.0


@dataclass(frozen=True)
class _Reply:
    """What every response of one request repeats."""
    request_id: str
    created: int
    model: str
    prompt_tokens: int

    def usage(self, finished: Finished) -> dict:
        return usage(self.prompt_tokens, finished.completion_tokens)

    def chunk(self, delta: Optional[dict], finish_reason: Optional[str] = None,
              token_usage: Optional[dict] = None) -> str:
        return server_event(chat_completion_chunk(self.request_id, self.created, self.model,
                                                  delta, finish_reason, token_usage))


def create_app(model: ServedModel, batcher: DynamicBatcher,
               settings: ServerSettings = ServerSettings()) -> FastAPI:
    """The application; it starts the batcher on start-up and drains it on shutdown."""
    image_limits = ImageLimits(settings.max_image_pixels, settings.max_request_bytes,
                               settings.image_dir)
    started = int(time.time())

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        batcher.start()
        yield
        if not await asyncio.to_thread(batcher.stop, settings.shutdown_timeout):
            logger.warning('Requests were still being answered after the shutdown timeout '
                           '(%s s).', settings.shutdown_timeout)

    app = FastAPI(title='MiniGPT-4 (OpenAI-compatible)', lifespan=lifespan, docs_url=None,
                  redoc_url=None, openapi_url=None)
    app.add_middleware(RequestSizeLimit, max_bytes=settings.max_request_bytes)

    @app.exception_handler(RequestError)
    async def refused(request: Request, error: RequestError) -> JSONResponse:
        return JSONResponse(error.body(), status_code=error.status, headers=error.headers)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> JSONResponse:
        message = f'{error.detail}: {request.method} {request.url.path}'
        return JSONResponse(error_body(message), status_code=error.status_code,
                            headers=error.headers)

    @app.exception_handler(Exception)
    async def server_error(request: Request, error: Exception) -> JSONResponse:
        logger.exception('Unexpected error')
        return JSONResponse(error_body(f'Internal server error: {type(error).__name__}.',
                                       'server_error'), status_code=500)

    def require_api_key(request: Request) -> None:
        if settings.api_key is None:
            return
        scheme, _, token = request.headers.get('authorization', '').partition(' ')
        if scheme.lower() != 'bearer' or not hmac.compare_digest(
                token.strip().encode(), settings.api_key.encode()):
            raise RequestError('Incorrect or missing API key: send the header Authorization: '
                               'Bearer <key>.', status=401, code='invalid_api_key',
                               headers={'WWW-Authenticate': 'Bearer'})

    @app.get('/health')
    async def health() -> dict:
        """Liveness, queue and batching counts (no API key needed)."""
        return {'status': 'ok', 'model': model.name, **batcher.status()}

    api = APIRouter(prefix='/v1', dependencies=[Depends(require_api_key)])

    @api.get('/models')
    async def models() -> dict:
        return model_list(model.name, started)

    @api.post('/chat/completions')
    async def chat_completions(request: Request) -> Response:
        chat_request = parse_chat_request(parse_json_body(await request.body()))
        if chat_request.model != model.name:
            raise RequestError(f'The model {chat_request.model!r} does not exist: this server '
                               f'serves {model.name!r} (GET /v1/models).', param='model',
                               status=404, code='model_not_found')
        conversation = parse_messages(chat_request.messages, model.caption_instruction)
        prompt = build_request_prompt(model.template, conversation)
        prompt_tokens = model.model.prompt_length(prompt)
        generation = model.generation_settings(chat_request, prompt_tokens)
        image, image_key = await run_in_threadpool(_load_image, model, conversation,
                                                   image_limits)
        events: asyncio.Queue = asyncio.Queue()
        job = GenerationJob(
            prompt, prompt_tokens, image, image_key, generation,
            deliver=partial(asyncio.get_running_loop().call_soon_threadsafe, events.put_nowait),
            stop=chat_request.stop, seed=chat_request.seed, stream=chat_request.stream)
        try:
            batcher.submit(job)
        except ServerBusy as busy:
            raise RequestError(str(busy), status=503, error_type='server_error',
                               code='server_busy',
                               headers={'Retry-After': str(busy.retry_after)}) from None
        reply = _Reply(completion_id(), int(time.time()), model.name, prompt_tokens)
        if chat_request.stream:
            return StreamingResponse(
                _stream(job, events, reply, chat_request), media_type='text/event-stream',
                headers={'Cache-Control': 'no-cache', 'X-Accel-Buffering': 'no'})
        event = await _answer_unless_disconnected(job, events, request)
        if event is None:
            return Response(status_code=499)  # client closed the request: nobody reads this
        if isinstance(event, Failed):
            return JSONResponse(error_body(event.message, 'server_error'), status_code=500)
        return JSONResponse(chat_completion(reply.request_id, reply.created, reply.model,
                                            event.text, event.finish_reason, reply.usage(event)))

    app.include_router(api)
    return app


def _load_image(model: ServedModel, conversation: RequestConversation, limits: ImageLimits):
    """The request's image as a pipeline sample and its digest (in a worker thread)."""
    image = read_request_image(conversation.image_url, conversation.image_param, limits)
    return model.image_input(image)


async def _answer_unless_disconnected(job: GenerationJob, events: asyncio.Queue,
                                      request: Request) -> Optional[Union[Finished, Failed]]:
    """The request's last event, or None (and the job cancelled) if the client left first."""
    answer = asyncio.ensure_future(events.get())
    gone = asyncio.ensure_future(_disconnect(request))
    try:
        await asyncio.wait({answer, gone}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        gone.cancel()
        if not answer.done():
            answer.cancel()
            job.cancel()
    return answer.result() if answer.done() and not answer.cancelled() else None


async def _disconnect(request: Request) -> None:
    """Return when the client disconnects (the body has been read already)."""
    while (await request.receive())['type'] != 'http.disconnect':
        pass


async def _stream(job: GenerationJob, events: asyncio.Queue, reply: _Reply,
                  chat_request: ChatCompletionRequest) -> AsyncIterator[str]:
    """OpenAI's chunks: the role, the text as it grows, the finish reason (and the
    usage with ``stream_options.include_usage``), then ``[DONE]``."""
    try:
        yield reply.chunk({'role': 'assistant', 'content': ''})
        while True:
            event = await events.get()
            if isinstance(event, TextDelta):
                yield reply.chunk({'content': event.text})
                continue
            if isinstance(event, Finished):
                yield reply.chunk({}, event.finish_reason)
                if chat_request.include_usage:
                    yield reply.chunk(None, token_usage=reply.usage(event))
            else:
                yield server_event(error_body(event.message, 'server_error'))
            break
        yield server_event('[DONE]')
    finally:
        job.cancel()  # a no-op once answered; else the client has gone
