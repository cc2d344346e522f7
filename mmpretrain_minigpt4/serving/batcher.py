"""Dynamic batching: concurrent requests answered by one left-padded batched generation.

One worker thread owns the model. It waits for a request, then collects more
for at most ``batch_wait_s`` (or until ``max_batch_size``), encodes each
distinct image of the batch once, and runs one ``MiniGPT4.generate`` per
group of requests with compatible settings:

- requests are grouped by their decoding settings apart from
  ``max_new_tokens`` (greedy with greedy, sampling with the same temperature
  and top_p); a group generates up to its longest ``max_new_tokens`` and each
  row stops at its own limit; a group's longest prompt plus that limit must
  fit the LLM's context, else the request goes to another group;
- a sampling request with a ``seed`` is generated alone, with torch's random
  state seeded by it (and restored afterwards): the same request and seed give
  the same answer however busy the server is. Greedy answers need no seed:
  batched, they equal one-by-one answers (``MiniGPT4.generate``'s left
  padding guarantees it);
- a streamer (:class:`BatchStreamer`) receives the (B,) new token ids of every
  step and routes each row to its request (:class:`~.row_answer.RowAnswer`).
  A row that reaches its stop string, end token or ``max_tokens`` is finished
  for its client at once: the client gets its whole answer then, while the
  others go on. Its row cannot leave the computation itself: transformers'
  ``generate`` keeps the batch (and its KV cache) until every row stops or
  the longest limit is reached, and it has no way to add or drop rows on the
  way. When every row is finished for its client (or its client has gone),
  the streamer ends the generation early instead of computing rows nobody
  reads.

Requests that arrive during a generation wait for the next batch (no
continuous batching: ``generate`` cannot take rows mid-way).
"""
import collections
import contextlib
import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Callable, Dict, Hashable, List, Optional, Sequence

import torch
from transformers.generation.streamers import BaseStreamer

from .row_answer import RowAnswer
from .served_model import ServedModel

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class TextDelta:
    """More of a streamed answer."""
    text: str


@dataclass(frozen=True)
class Finished:
    """The whole answer: the last event of a request."""
    text: str
    finish_reason: str
    completion_tokens: int


@dataclass(frozen=True)
class Failed:
    """Generation failed: the last event of a request."""
    message: str


class ServerBusy(Exception):
    """The queue is full or the server is shutting down; retry after ``retry_after`` s."""

    def __init__(self, message: str, retry_after: int):
        super().__init__(message)
        self.retry_after = retry_after


@dataclass(eq=False)
class GenerationJob:
    """One request on its way through the batcher.

    Args:
        prompt (str): The chat prompt with one ``<ImageHere>``.
        prompt_tokens (int): Its tokens, image tokens included.
        image (dict): The image's pipeline sample (``inputs`` (3, H, W) uint8).
        image_key (bytes): Digest of those pixels: equal images are encoded once.
        settings (dict): ``MiniGPT4.generate`` settings, ``max_new_tokens``
            this request's own.
        deliver (Callable): Called from the worker thread with
            :class:`TextDelta` (streamed requests), then one :class:`Finished`
            or :class:`Failed`; must be thread-safe.
        stop (tuple[str]): The request's stop strings.
        seed (int, optional): Seed of a sampling request.
        stream (bool): Whether to deliver text as it is generated.
    """
    prompt: str
    prompt_tokens: int
    image: dict
    image_key: bytes
    settings: dict
    deliver: Callable[[object], None]
    stop: tuple = ()
    seed: Optional[int] = None
    stream: bool = False
    cancelled: bool = False

    def cancel(self) -> None:
        """The client has gone: drop the request, or its row, at the next step."""
        self.cancelled = True

    @property
    def max_new_tokens(self) -> int:
        return self.settings['max_new_tokens']

    def batch_key(self) -> Hashable:
        """Requests with equal keys may share a generation."""
        shared = repr(sorted((k, v) for k, v in self.settings.items() if k != 'max_new_tokens'))
        if self.settings.get('do_sample') and self.seed is not None:
            return shared, id(self)  # alone: its random numbers are its seed's only
        return shared


def group_jobs(jobs: Sequence[GenerationJob], context_length: int) -> List[List[GenerationJob]]:
    """Split a batch into generations: equal :meth:`~GenerationJob.batch_key`, and the
    longest prompt plus the longest ``max_new_tokens`` within ``context_length``."""
    groups: List[List[GenerationJob]] = []
    for job in jobs:
        for group in groups:
            if group[0].batch_key() == job.batch_key() and (
                    max(j.prompt_tokens for j in group + [job]) +
                    max(j.max_new_tokens for j in group + [job]) <= context_length):
                group.append(job)
                break
        else:
            groups.append([job])
    return groups


def deliver(job: GenerationJob, event) -> None:
    """Hand ``event`` to the request; a request whose server loop is gone is cancelled."""
    try:
        job.deliver(event)
    except RuntimeError:  # the event loop has closed (shutdown timed out)
        job.cancel()


class _AllRowsFinished(Exception):
    """Raised out of ``generate`` when no row has a reader left."""


class BatchStreamer(BaseStreamer):
    """Receives every step's (B,) token ids from ``generate`` and routes each row
    to its request; ends the generation once every row is finished or cancelled.

    Args:
        jobs (Sequence[GenerationJob]): The batch's requests, in row order.
        rows (Sequence[RowAnswer]): Their answers.
        max_new_tokens (int): The generation's limit (the longest row's).
    """

    def __init__(self, jobs: Sequence[GenerationJob], rows: Sequence[RowAnswer],
                 max_new_tokens: int):
        self.jobs, self.rows = list(jobs), list(rows)
        self.max_new_tokens = max_new_tokens
        self.sent = [''] * len(self.jobs)
        self.steps = 0

    def put(self, value: torch.Tensor) -> None:
        if value.dim() > 1:  # the (B, 0) prompt ids: generation starts from embeddings
            return
        self.steps += 1
        for index, token_id in enumerate(value.tolist()):
            if not (self.rows[index].finished or self.jobs[index].cancelled):
                self.rows[index].add(token_id)
                self._send(index)
        nobody_reads = all(row.finished or job.cancelled for job, row in zip(self.jobs, self.rows))
        # Rows that the model stopped itself end the generation anyway, after this step.
        model_ends = all(row.stopped_by_model for row in self.rows)
        if nobody_reads and not model_ends and self.steps < self.max_new_tokens:
            raise _AllRowsFinished

    def end(self) -> None:
        """``generate`` returned: a row still open was stopped by the model."""
        for index, (job, row) in enumerate(zip(self.jobs, self.rows)):
            if not (row.finished or job.cancelled):
                row.end()
                self._send(index)

    def _send(self, index: int) -> None:
        job, row = self.jobs[index], self.rows[index]
        if job.stream:
            text, sent = row.streamable_text(), self.sent[index]
            if len(text) > len(sent) and text.startswith(sent):
                deliver(job, TextDelta(text[len(sent):]))
                self.sent[index] = text
            elif row.finished and text != sent:
                logger.warning('The answer changed after it was streamed (the model wrote the '
                               'assistant role marker mid-answer); streamed %r, final %r.',
                               sent, text)
        if row.finished:
            deliver(job, Finished(row.text, row.finish_reason, len(row.token_ids)))


@dataclass
class BatchStats:
    """What the batcher has done (``GET /health``)."""
    batches: int = 0
    batch_sizes: Dict[int, int] = field(default_factory=collections.Counter)
    completed: int = 0
    cancelled: int = 0
    failed: int = 0
    batches_ended_early: int = 0

    def as_dict(self) -> dict:
        return dict(batches=self.batches,
                    batch_sizes={str(k): v for k, v in sorted(self.batch_sizes.items())},
                    completed=self.completed, cancelled=self.cancelled, failed=self.failed,
                    batches_ended_early=self.batches_ended_early)


class DynamicBatcher:
    """The worker thread that owns the model and answers queued requests in batches.

    Args:
        model (ServedModel): The model.
        max_batch_size (int): Requests per generation at most. Defaults to 8.
        batch_wait_s (float): How long the first request of a batch waits
            for others. Defaults to 0.02.
        max_queue_size (int): Requests waiting (not yet in a batch) at most;
            more are refused with :class:`ServerBusy`. Defaults to 64.
    """

    def __init__(self, model: ServedModel, max_batch_size: int = 8, batch_wait_s: float = 0.02,
                 max_queue_size: int = 64):
        for name, value in (('max_batch_size', max_batch_size),
                            ('max_queue_size', max_queue_size)):
            if not isinstance(value, int) or value < 1:
                raise ValueError(f'{name} must be an integer >= 1, got {value!r}.')
        if not batch_wait_s >= 0:
            raise ValueError(f'batch_wait_s must be >= 0, got {batch_wait_s!r}.')
        self.model = model
        self.max_batch_size = max_batch_size
        self.batch_wait_s = batch_wait_s
        self.max_queue_size = max_queue_size
        self._queue: collections.deque = collections.deque()
        self._condition = threading.Condition()
        self._stopping = False
        self._running = 0
        self._stats = BatchStats()
        self._thread: Optional[threading.Thread] = None

    # ------------------------------------------------------------------ control
    def start(self) -> None:
        self._thread = threading.Thread(target=self._work, name='minigpt4-batcher', daemon=True)
        self._thread.start()

    def stop(self, timeout: float) -> bool:
        """Answer what is queued and running, then end the thread; False if that took
        longer than ``timeout`` seconds (the thread is then left to end with the process)."""
        with self._condition:
            self._stopping = True
            self._condition.notify_all()
        if self._thread is None:
            return True
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def submit(self, job: GenerationJob) -> None:
        """Queue ``job``.

        Raises:
            ServerBusy: If ``max_queue_size`` requests wait already, or the
                server is shutting down.
        """
        with self._condition:
            if self._stopping:
                raise ServerBusy('The server is shutting down.', retry_after=5)
            self._drop_cancelled()
            if len(self._queue) >= self.max_queue_size:
                raise ServerBusy(f'The server is busy: {len(self._queue)} requests are waiting '
                                 '(--max-queue-size); retry later.', retry_after=1)
            self._queue.append(job)
            self._condition.notify()

    def status(self) -> dict:
        """Queue, running batch and the counts of :class:`BatchStats`."""
        with self._condition:
            self._drop_cancelled()
            return dict(queued=len(self._queue), running=self._running,
                        **self._stats.as_dict())

    # ------------------------------------------------------------------ worker
    def _drop_cancelled(self) -> None:
        live = [job for job in self._queue if not job.cancelled]
        self._stats.cancelled += len(self._queue) - len(live)
        self._queue = collections.deque(live)

    def _next_batch(self) -> Optional[List[GenerationJob]]:
        """Wait for requests and collect a batch; None once stopping with nothing left."""
        with self._condition:
            while True:
                self._drop_cancelled()
                if self._queue or self._stopping:
                    break
                self._condition.wait()
            if not self._queue:
                return None
            deadline = time.monotonic() + self.batch_wait_s
            while len(self._queue) < self.max_batch_size and not self._stopping:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._condition.wait(remaining)
                self._drop_cancelled()
            size = min(self.max_batch_size, len(self._queue))
            batch = [self._queue.popleft() for _ in range(size)]
            self._running = len(batch)
            return batch

    def _work(self) -> None:
        while True:
            batch = self._next_batch()
            if batch is None:
                return
            try:
                self._answer(batch)
            except Exception as error:  # noqa: BLE001  (the worker must outlive any batch)
                logger.exception('A batch failed')
                self._fail(batch, error)
            finally:
                with self._condition:
                    self._running = 0

    def _answer(self, batch: List[GenerationJob]) -> None:
        """Encode the batch's distinct images once, then generate group by group."""
        keys = list(dict.fromkeys(job.image_key for job in batch))
        first_with = {job.image_key: job for job in reversed(batch)}
        try:
            image_tokens = self.model.encode_images([first_with[key].image for key in keys])
        except Exception as error:  # noqa: BLE001  (the requests fail, the server goes on)
            logger.exception('Image encoding failed')
            self._fail(batch, error)
            return
        row_of = {key: row for row, key in enumerate(keys)}
        for group in group_jobs(batch, self.model.context_length):
            live = [job for job in group if not job.cancelled]  # clients gone while waiting
            with self._condition:
                self._stats.cancelled += len(group) - len(live)
            if live:
                rows = torch.tensor([row_of[job.image_key] for job in live],
                                    device=image_tokens.device)
                self._generate(live, image_tokens[rows])

    def _generate(self, group: List[GenerationJob], image_tokens: torch.Tensor) -> None:
        tokenizer = self.model.tokenizer
        rows = [RowAnswer(self.model.template, tokenizer.decode, tokenizer.eos_id,
                          job.max_new_tokens, job.stop) for job in group]
        max_new_tokens = max(job.max_new_tokens for job in group)
        streamer = BatchStreamer(group, rows, max_new_tokens)
        ended_early = False
        try:
            with self._random_state(group):
                self.model.generate(image_tokens, [job.prompt for job in group], streamer,
                                    dict(group[0].settings, max_new_tokens=max_new_tokens))
        except _AllRowsFinished:
            ended_early = True
        except Exception as error:  # noqa: BLE001  (the requests fail, the server goes on)
            logger.exception('Generation failed')
            self._fail([job for job, row in zip(group, rows)
                        if not (row.finished or job.cancelled)], error)
        with self._condition:
            stats = self._stats
            stats.batches += 1
            stats.batch_sizes[len(group)] += 1
            stats.batches_ended_early += ended_early
            stats.completed += sum(row.finished for row in rows)
            stats.cancelled += sum(job.cancelled and not row.finished
                                   for job, row in zip(group, rows))

    def _fail(self, jobs: Sequence[GenerationJob], error: Exception) -> None:
        for job in jobs:
            deliver(job, Failed(f'Generation failed: {type(error).__name__}: {error}'))
        with self._condition:
            self._stats.failed += len(jobs)

    @contextlib.contextmanager
    def _random_state(self, group: List[GenerationJob]):
        """Torch's random state seeded by a lone sampling request's seed, then restored."""
        job = group[0]
        if len(group) > 1 or job.seed is None or not job.settings.get('do_sample'):
            yield
            return
        device = self.model.device
        with torch.random.fork_rng(devices=[device] if device.type == 'cuda' else []):
            torch.manual_seed(job.seed)
            yield
