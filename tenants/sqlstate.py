"""Recognising the errors our own SQL raises (Django wraps psycopg's error as __cause__)."""

from __future__ import annotations

UNIQUE_VIOLATION = "23505"


def has_sqlstate(exc: BaseException | None, sqlstate: str) -> bool:
    while exc is not None:
        if getattr(exc, "sqlstate", None) == sqlstate:
            return True
        exc = exc.__cause__
    return False
