"""A full queue is answered 503 with Retry-After; SIGTERM lets the running and the queued
request finish, then the server exits 0."""
import signal
import threading
import time

import httpx
from serving_process import MODEL_ARGS, MODEL_NAME, photo_url, user_message

from mmpretrain_minigpt4.benchmarking.server_process import ServerProcess


def body(max_tokens: int, stream: bool = False) -> dict:
    return {'model': MODEL_NAME, 'messages': [user_message('What is it?', photo_url())],
            'max_tokens': max_tokens, 'stream': stream}


def wait_for(condition, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline
        time.sleep(0.05)


def test_full_queue_then_sigterm_finishes_requests_in_flight():
    server = ServerProcess(*MODEL_ARGS, '--max-batch-size', '1', '--max-queue-size', '1',
                           '--batch-wait-ms', '0', '--shutdown-timeout', '60')
    url = server.base_url + '/chat/completions'
    try:
        queued = {}

        def send_queued():
            queued['response'] = httpx.post(url, json=body(4), timeout=120)

        with httpx.stream('POST', url, json=body(1000, stream=True), timeout=120) as running:
            lines = running.iter_lines()
            assert next(lines).startswith('data: ')  # generating (the role chunk is sent)
            wait_for(lambda: server.health()['running'] == 1)
            sender = threading.Thread(target=send_queued)
            sender.start()
            wait_for(lambda: server.health()['queued'] == 1)

            refused = httpx.post(url, json=body(4), timeout=30)
            assert refused.status_code == 503
            assert refused.headers['Retry-After'] == '1'
            assert refused.json()['error']['code'] == 'server_busy'
            assert '--max-queue-size' in refused.json()['error']['message']

            server.process.send_signal(signal.SIGTERM)
            events = [line for line in lines if line]
        sender.join(120)
        assert events[-1] == 'data: [DONE]'
        assert '"finish_reason": null' not in events[-2]  # the whole answer
        assert queued['response'].status_code == 200
        assert queued['response'].json()['usage']['completion_tokens'] <= 4
        assert server.terminate(timeout=60) == 0, server.output()
    finally:
        server.terminate()
