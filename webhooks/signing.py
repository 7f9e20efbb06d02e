"""Standard Webhooks signatures: HMAC-SHA256 over `id.timestamp.body`, base64, as `v1,<sig>`.

The secret is `whsec_` + base64 of 32 random bytes; the key is those bytes. A receiver
recomputes the signature from the three headers and the raw body, compares in constant
time, and refuses timestamps outside its tolerance (replays). docs/api.md has a receiver.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

PREFIX = "whsec_"
#: A receiver refuses a timestamp further than this from its clock (seconds).
TOLERANCE_SECONDS = 300


def secret_new() -> str:
    return PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def _key(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix(PREFIX))


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    content = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(_key(secret), content, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def headers(secret: str, msg_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(secret, msg_id, timestamp, body),
    }


def verify(secret: str, headers: dict, body: bytes, *, now: int) -> bool:
    """What a receiver does (the documented algorithm; the tests' receiver uses it)."""
    headers = {k.lower(): v for k, v in headers.items()}
    msg_id, timestamp = headers.get("webhook-id", ""), headers.get("webhook-timestamp", "")
    try:
        ts = int(timestamp)
    except ValueError:
        return False
    if abs(now - ts) > TOLERANCE_SECONDS:
        return False
    expected = sign(secret, msg_id, ts, body).split(",", 1)[1]
    # Several space-separated signatures may be sent (while a secret is rotated).
    for candidate in headers.get("webhook-signature", "").split():
        version, _, signature = candidate.partition(",")
        if version == "v1" and hmac.compare_digest(signature, expected):
            return True
    return False
