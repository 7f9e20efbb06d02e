"""Slow statements by tenant: noted on the request path, written in batches, bounded per tenant.

`tenants.db` calls `observe(statement, seconds)` for a statement that took at
least SLOW_STATEMENT_MS; below that, measuring costs two clock reads. `observe`
only appends a tuple to a bounded in-memory queue (no I/O); the recorder's
flush thread writes the queue in one statement per batch, normalising the text
first (literals become `?`; bound parameters are never part of it). The roll-up
job keeps the latest SLOW_STATEMENTS_KEPT per tenant within
SLOW_STATEMENT_RETENTION_DAYS.
"""

from __future__ import annotations

import contextvars
import logging
import re
import time
from collections import deque
from datetime import UTC, datetime, timedelta

from django.conf import settings

from observability.logs import current_request_id
from observability.recorder import recorder
from observability.routes import route_of
from tenants.context import get_current_tenant

logger = logging.getLogger("observability.slow_statements")

# Statements noted in this process and not written yet (the oldest are dropped beyond this).
MAX_PENDING = 2000
MAX_STATEMENT_CHARS = 2000

_pending: deque = deque(maxlen=MAX_PENDING)
# The request being served (set by RequestObservabilityMiddleware): a slow statement's
# route and request id.
current_request: contextvars.ContextVar = contextvars.ContextVar(
    "observability_request", default=None
)


def observe(query, seconds: float) -> None:
    """Called by tenants.db after a slow statement; must be cheap and never raise."""
    try:
        tenant = get_current_tenant()
        if tenant is None:  # the control plane's own statements belong to no tenant
            return
        statement = _text(query)
        request = current_request.get()
        _pending.append(
            (
                tenant.pk,
                time.time(),
                seconds * 1000,
                statement,
                _route(request),
                (getattr(request, "request_id", None) or current_request_id() or "")[:128],
            )
        )
        recorder.ensure_writer()
    except Exception:  # a measurement must never fail the statement's caller
        logger.exception("slow statement not noted")


def _text(query) -> str:
    if isinstance(query, str):
        return query
    if isinstance(query, bytes):
        return query.decode(errors="replace")
    as_string = getattr(query, "as_string", None)  # psycopg.sql.Composable
    return as_string(None) if as_string is not None else str(query)


def _route(request) -> str:
    if request is not None:
        return route_of(request)[:200]
    from celery import current_task

    task = current_task._get_current_object() if current_task else None
    return f"task:{task.name}"[:200] if task is not None else ""


_STRING = re.compile(r"(?:\b[eEbBxXuU]&?)?'(?:[^']|'')*'")
_DOLLAR = re.compile(r"\$((?:[A-Za-z_]\w*)?)\$.*?\$\1\$", re.DOTALL)
_NUMBER = re.compile(r"(?<![\w$.\"])-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?(?![\w\"])")
_SPACE = re.compile(r"\s+")


def normalise(statement: str) -> str:
    """The statement's shape: string, dollar-quoted and numeric literals become `?`."""
    text = _DOLLAR.sub("?", statement)
    text = _STRING.sub("?", text)
    text = _NUMBER.sub("?", text)
    text = _SPACE.sub(" ", text).strip()
    if len(text) > MAX_STATEMENT_CHARS:
        text = text[: MAX_STATEMENT_CHARS - 1] + "…"
    return text


def drain() -> list[tuple]:
    out = []
    while True:
        try:
            out.append(_pending.popleft())
        except IndexError:
            return out


def flush() -> int:
    """Write the noted statements (at most SLOW_STATEMENTS_KEPT per tenant per batch)."""
    batch = drain()
    if not batch:
        return 0
    kept: dict = {}
    for item in reversed(batch):  # the latest first
        rows = kept.setdefault(item[0], [])
        if len(rows) < settings.SLOW_STATEMENTS_KEPT:
            rows.append(item)
    rows = [row for per_tenant in kept.values() for row in per_tenant]
    try:
        write_statements(rows)
    except Exception:
        logger.exception("slow statements flush failed; %d kept for the next attempt", len(rows))
        _pending.extendleft(reversed(rows))
        return 0
    return len(rows)


def write_statements(rows: list[tuple]) -> None:
    """Insert [(tenant_id, unix time, ms, statement, route, request id)] in one statement."""
    from django.db import connections

    from tenants.context import dangerously_unscoped
    from tenants.routers import data_alias

    params: list = []
    for tenant_id, at, ms, statement, route, request_id in rows:
        at = datetime.fromtimestamp(at, tz=UTC)
        params += [tenant_id, at, ms, normalise(statement), route, request_id]
    values = ", ".join(["(%s, %s, %s, %s, %s, %s)"] * len(rows))
    # One batch spans tenants: the operator role writes it (RLS guards the tenants' reads).
    with (
        dangerously_unscoped("slow statements flush: batched statements of this process"),
        connections[data_alias()].cursor() as cur,
    ):
        cur.execute(
            "INSERT INTO observability_slowstatement "
            f"(tenant_id, at, duration_ms, statement, route, request_id) VALUES {values}",
            params,
        )


def prune(cur, *, now: datetime) -> int:
    """Drop statements past retention and beyond the latest SLOW_STATEMENTS_KEPT per tenant."""
    cur.execute(
        "DELETE FROM observability_slowstatement WHERE at < %s",
        [now - timedelta(days=settings.SLOW_STATEMENT_RETENTION_DAYS)],
    )
    pruned = cur.rowcount
    cur.execute(
        """
        DELETE FROM observability_slowstatement s USING (
            SELECT id FROM (
                SELECT id, row_number() OVER (PARTITION BY tenant_id ORDER BY at DESC, id DESC) AS n
                FROM observability_slowstatement
            ) ranked WHERE n > %s
        ) old
        WHERE s.id = old.id
        """,
        [settings.SLOW_STATEMENTS_KEPT],
    )
    return pruned + cur.rowcount


recorder.also_flush(flush)
