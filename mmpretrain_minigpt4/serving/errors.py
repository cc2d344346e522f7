"""Request errors in OpenAI's error format."""
from typing import Dict, Optional


class RequestError(Exception):
    """A request the server refuses, answered as OpenAI answers it.

    Args:
        message (str): What is wrong and what to do, for the client.
        param (str, optional): The field at fault, as OpenAI names it
            (``'temperature'``, ``'messages[2].content[1]'``); None for the
            whole request.
        status (int): HTTP status. Defaults to 400.
        code (str, optional): A machine-readable reason (``'invalid_image'``).
        error_type (str): OpenAI's error type. Defaults to
            ``'invalid_request_error'``.
        headers (dict, optional): Extra response headers (``Retry-After``).
    """

    def __init__(self, message: str, param: Optional[str] = None, status: int = 400,
                 code: Optional[str] = None, error_type: str = 'invalid_request_error',
                 headers: Optional[Dict[str, str]] = None):
        super().__init__(message)
        self.message = message
        self.param = param
        self.status = status
        self.code = code
        self.error_type = error_type
        self.headers = headers or {}

    def body(self) -> dict:
        """``{"error": {"message", "type", "param", "code"}}``."""
        return error_body(self.message, self.error_type, self.param, self.code)


def error_body(message: str, error_type: str = 'invalid_request_error',
               param: Optional[str] = None, code: Optional[str] = None) -> dict:
    """OpenAI's error object."""
    return {'error': {'message': message, 'type': error_type, 'param': param, 'code': code}}
