"""A real HTTP receiver on 127.0.0.1 that records what it gets and answers with scripted statuses."""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest


@dataclass
class Received:
    at: float
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    url: str
    requests: list[Received] = field(default_factory=list)
    # (status, headers) answered in order; after the script runs out every request gets 200.
    script: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, *replies: int | tuple[int, dict[str, str]]) -> None:
        self.script.extend(r if isinstance(r, tuple) else (r, {}) for r in replies)

    def of_type(self, event_type: str) -> list[Received]:
        import json

        return [r for r in self.requests if json.loads(r.body)["type"] == event_type]


@pytest.fixture
def receiver(allow_test_origin):
    """A receiver on 127.0.0.1 over http, which only the tests' exact-origin allowance lets the guard call."""
    state = Receiver(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 (http.server's naming)
            body = self.rfile.read(int(self.headers.get("content-length", 0)))
            with state.lock:
                state.requests.append(Received(time.monotonic(), self.path, dict(self.headers.items()), body))
                status, headers = state.script.pop(0) if state.script else (200, {})
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            reply = f'{{"received": true, "status": {status}}}'.encode()
            self.send_header("content-length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = allow_test_origin(f"http://127.0.0.1:{server.server_address[1]}/hooks")
    yield state
    server.shutdown()
    server.server_close()


@pytest.fixture
def local_receivers_allowed(settings, allow_test_origin):
    """Retries come quickly; returns allow(url), which lets the guard call one local receiver (production can't)."""
    settings.WEBHOOK_RETRY_SCHEDULE = [0.3, 0.6, 1.0]
    settings.WEBHOOK_RETRY_JITTER = 0.0
    return allow_test_origin
