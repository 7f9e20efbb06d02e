"""One webhook request: POST to the checked address, no redirects, short timeouts.

http.client never follows redirects and never reads proxy settings; the connection is
made to `Target.address` (the address `addresses.resolve` checked), with the URL's host
in the Host header and as the TLS server name (certificates are verified against it).
"""

from __future__ import annotations

import http.client
import socket
import ssl
import time
from dataclasses import dataclass

from django.conf import settings

from webhooks.addresses import AddressRefused, Target, resolve

#: What the delivery log keeps of a response body.
LOG_BODY_CHARS = 1000


@dataclass(frozen=True)
class Outcome:
    status: int | None
    body: str
    error: str
    duration_ms: int

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


class _Connection(http.client.HTTPConnection):
    def __init__(self, target: Target, timeout: float):
        super().__init__(target.host, target.port, timeout=timeout)
        self._address = target.address

    def connect(self):
        self.sock = socket.create_connection(
            (self._address, self.port), timeout=settings.WEBHOOKS_CONNECT_TIMEOUT_SECONDS
        )
        self.sock.settimeout(self.timeout)


class _TLSConnection(http.client.HTTPSConnection):
    def __init__(self, target: Target, timeout: float):
        super().__init__(
            target.host, target.port, timeout=timeout, context=ssl.create_default_context()
        )
        self._address = target.address

    def connect(self):
        sock = socket.create_connection(
            (self._address, self.port), timeout=settings.WEBHOOKS_CONNECT_TIMEOUT_SECONDS
        )
        sock.settimeout(self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


def post(url: str, body: bytes, headers: dict[str, str]) -> Outcome:
    started = time.monotonic()

    def outcome(status=None, text="", error=""):
        elapsed = int((time.monotonic() - started) * 1000)
        return Outcome(status, text[:LOG_BODY_CHARS], error[:500], elapsed)

    try:
        target = resolve(url)  # again at delivery: DNS may have changed since registration
    except AddressRefused as exc:
        return outcome(error=f"refused: {exc}")
    cls = _TLSConnection if target.scheme == "https" else _Connection
    conn = cls(target, timeout=settings.WEBHOOKS_TIMEOUT_SECONDS)
    try:
        conn.request("POST", target.path, body=body, headers=headers)
        response = conn.getresponse()
        raw = response.read(LOG_BODY_CHARS * 4)
        text = raw.decode("utf-8", errors="replace")
        if 300 <= response.status < 400:
            return outcome(response.status, text, "redirects are not followed")
        return outcome(response.status, text)
    except (OSError, http.client.HTTPException) as exc:
        kind = "timed out" if isinstance(exc, TimeoutError | socket.timeout) else "failed"
        return outcome(error=f"connection {kind}: {exc.__class__.__name__}")
    finally:
        conn.close()
