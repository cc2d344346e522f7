"""ASGI middleware: refuse request bodies over a size with 413, before the app reads them."""
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .errors import error_body


class RequestSizeLimit:
    """Read each HTTP request body up to ``max_bytes`` and hand it to ``app``; a larger
    one (by ``Content-Length`` or by what arrives) is answered 413 in OpenAI's format.

    Args:
        app (ASGIApp): The application.
        max_bytes (int): The largest body accepted.
    """

    def __init__(self, app: ASGIApp, max_bytes: int):
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope['type'] != 'http':
            await self.app(scope, receive, send)
            return
        headers = dict(scope['headers'])
        declared = headers.get(b'content-length', b'0')
        if not declared.isdigit():
            await self._refuse(400, 'Invalid Content-Length header.', scope, receive, send)
            return
        if int(declared) > self.max_bytes:
            await self._too_large(scope, receive, send)
            return
        chunks, size, more = [], 0, True
        while more:
            message = await receive()
            if message['type'] == 'http.disconnect':
                return
            chunk = message.get('body', b'')
            size += len(chunk)
            if size > self.max_bytes:
                await self._too_large(scope, receive, send)
                return
            chunks.append(chunk)
            more = message.get('more_body', False)
        body, replayed = b''.join(chunks), False

        async def replay() -> Message:
            # The body once, then the connection's own messages (the disconnect).
            nonlocal replayed
            if not replayed:
                replayed = True
                return {'type': 'http.request', 'body': body, 'more_body': False}
            return await receive()

        await self.app(scope, replay, send)

    async def _too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._refuse(413, f'The request body is larger than this server\'s limit of '
                           f'{self.max_bytes} bytes (--max-request-bytes).', scope, receive, send,
                           code='request_too_large')

    @staticmethod
    async def _refuse(status: int, message: str, scope: Scope, receive: Receive, send: Send,
                      code: str = 'invalid_request') -> None:
        response = JSONResponse(error_body(message, code=code), status_code=status,
                                headers={'Connection': 'close'})
        await response(scope, receive, send)
