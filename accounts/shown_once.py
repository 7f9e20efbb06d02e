"""A secret shown once on the page after a redirect, never stored in clear on the server.

Post/redirect/get keeps a reload from creating a second token or secret, but the secret has
to cross the redirect. It crosses it split in two: the session (a database row) holds it
XORed with a random pad of its own length (a one-time pad), and only the browser holds the pad,
in a short-lived HttpOnly cookie. Either half alone is uniformly random: neither the session
table nor the cookie reveals anything. The page that shows it drops both, and a secret never
shown is unreadable once the cookie expires.
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
import time

from django.conf import settings

COOKIE_SECONDS = 300


def _names(slot: str) -> tuple[str, str]:
    return f"_shown_once.{slot}", f"shown_once_{slot}"


def carry(request, response, slot: str, payload: dict):
    """Put `payload` behind `response` (a redirect) for the next page that takes `slot`."""
    session_key, cookie = _names(slot)
    plain = json.dumps({"until": time.time() + COOKIE_SECONDS, "payload": payload}).encode()
    pad = secrets.token_bytes(len(plain))
    request.session[session_key] = _b64(_xor(plain, pad))
    response.set_cookie(
        cookie,
        _b64(pad),
        max_age=COOKIE_SECONDS,
        httponly=True,
        samesite="Strict",
        secure=settings.SESSION_COOKIE_SECURE,
    )
    return response


def take(request, slot: str) -> dict | None:
    """The payload carried to this page, once (the caller passes the response to `forget`)."""
    session_key, cookie = _names(slot)
    sealed = request.session.pop(session_key, None)
    key = request.COOKIES.get(cookie)
    if not sealed or not key:
        return None
    try:
        sealed_bytes, pad = _unb64(sealed), _unb64(key)
        if len(sealed_bytes) != len(pad):
            return None
        carried = json.loads(_xor(sealed_bytes, pad))
    except (binascii.Error, ValueError):
        return None
    if not isinstance(carried, dict) or carried.get("until", 0) < time.time():
        return None
    return carried.get("payload")


def forget(request, response, slot: str):
    """Drop the key cookie, and keep the page that showed a secret out of every cache."""
    _, cookie = _names(slot)
    if cookie in request.COOKIES:
        response.delete_cookie(cookie, samesite="Strict")
        response["Cache-Control"] = "no-store"
    return response


def _xor(data: bytes, pad: bytes) -> bytes:
    return bytes(a ^ b for a, b in zip(data, pad, strict=True))


def _b64(data: bytes) -> str:
    # No "=" padding: a cookie value stays unquoted.
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
