"""``tools/serve.py`` in a subprocess on a free loopback port (the serving benchmark, tests)."""
import os.path as osp
import signal
import socket
import subprocess
import sys
import tempfile
import time
from typing import Optional

import httpx

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now."""
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


class ServerProcess:
    """``python tools/serve.py ARGS --port FREE``, its output in a temporary file; returns
    once ``GET /health`` answers.

    Args:
        *args (str): The server's arguments (model and flags).
        ready_timeout (float): Seconds to wait for the server. Defaults to 300.

    Raises:
        RuntimeError: If the server exits or does not answer in time (with its output).
    """

    def __init__(self, *args: str, ready_timeout: float = 300):
        self.port = free_port()
        self.url = f'http://127.0.0.1:{self.port}'
        self.log = tempfile.NamedTemporaryFile('w+', suffix='.log')
        self.process = subprocess.Popen(
            [sys.executable, osp.join(REPO_ROOT, 'tools', 'serve.py'), *args, '--port',
             str(self.port), '--log-level', 'warning'],
            cwd=REPO_ROOT, stdout=self.log, stderr=subprocess.STDOUT, text=True)
        deadline = time.monotonic() + ready_timeout
        while not self._answers():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.terminate()
                raise RuntimeError(f'tools/serve.py did not start:\n{self.output()}')
            time.sleep(0.2)

    def _answers(self) -> bool:
        try:
            return httpx.get(self.url + '/health', timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    @property
    def base_url(self) -> str:
        """The OpenAI base URL (``.../v1``)."""
        return self.url + '/v1'

    def health(self) -> dict:
        return httpx.get(self.url + '/health', timeout=30).json()

    def output(self) -> str:
        """The end of the server's log."""
        self.log.seek(0)
        return self.log.read()[-5000:]

    def terminate(self, timeout: float = 60) -> Optional[int]:
        """SIGTERM, then the exit status (None if it had to be killed after ``timeout``)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            return None

    def __enter__(self) -> 'ServerProcess':
        return self

    def __exit__(self, *exc_info) -> None:
        self.terminate()
