"""A real HTTP receiver on loopback, and a tenant with an endpoint pointing at it."""

from __future__ import annotations

import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tenants.context import tenant_scope
from tests.api.conftest import api_for  # noqa: F401
from tests.jobs.conftest import broker_at, redis_broker  # noqa: F401
from tests.web.conftest import _roomy_ip_throttle  # noqa: F401
from webhooks import endpoints
from webhooks.models import EventType

ROOT = Path(__file__).resolve().parent.parent.parent


def documented_verifier():
    """`verify_webhook` as docs/api.md prints it (the receiver example, executed)."""
    text = (ROOT / "docs" / "api.md").read_text()
    block = re.search(r"```python\n(.*?def verify_webhook.*?)```", text, re.S).group(1)
    namespace: dict = {}
    exec(compile(block, "docs/api.md", "exec"), namespace)
    return namespace["verify_webhook"]


class Receiver:
    """A ThreadingHTTPServer on 127.0.0.1 that records each request and answers `statuses`
    in turn (then 200)."""

    def __init__(self, statuses=()):
        self.statuses = list(statuses)
        self.requests: list[dict] = []
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver._lock:
                    status = receiver.statuses.pop(0) if receiver.statuses else 200
                    receiver.requests.append(
                        {"path": self.path, "headers": dict(self.headers), "body": body}
                    )
                self.send_response(status)
                self.send_header("Content-Type", "text/plain")
                self.end_headers()
                self.wfile.write(b"ok" if status < 300 else b"boom " + b"x" * 5000)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def wait_for(self, count: int, timeout: float = 30) -> list[dict]:
        deadline = time.monotonic() + timeout
        while len(self.requests) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.requests

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    with Receiver() as r:
        yield r


@pytest.fixture
def loopback_allowed(settings):
    settings.WEBHOOKS_ALLOW_PRIVATE = True
    settings.WEBHOOKS_RETRY_SCHEDULE = [0.05, 0.05, 0.05]
    return settings


def register(tenant, url: str, events=None):
    with tenant_scope(tenant):
        return endpoints.endpoint_create(
            tenant=tenant, url=url, events=list(events or EventType.values)
        )
