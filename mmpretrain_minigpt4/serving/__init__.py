"""An OpenAI-compatible HTTP server for MiniGPT-4 with streaming and dynamic batching
(``tools/serve.py``, docs/serving.md).

``openai_schema`` (the request checked field by field, the response and chunk
objects), ``errors`` (OpenAI's error format), ``request_conversation``
(messages -> the chat prompt and its image), ``request_image`` (``image_url``
-> pixels, within limits, offline), ``served_model`` (the model, pipeline and
settings behind the server), ``row_answer`` (one request's answer from its
row of a batch), ``batcher`` (the worker that batches generation),
``request_size_limit`` (413 middleware) and ``app`` (the FastAPI routes).
"""
from .app import ServerSettings, create_app
from .batcher import DynamicBatcher
from .served_model import ServedModel

__all__ = ['DynamicBatcher', 'ServedModel', 'ServerSettings', 'create_app']
