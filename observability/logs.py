"""Structured (JSON lines) logging: every record carries the tenant and the request id.

The request id comes from `X-Request-ID` when it is well formed (bounded
length, safe characters: it lands in logs and headers), otherwise it is
generated. It lives in a ContextVar for the request, and travels to Celery
tasks the request queues as a message header stamped at publish time; on the
worker the filter reads it back from the running task's request.
"""

from __future__ import annotations

import contextvars
import logging
import re
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from celery import signals
from django.utils.functional import empty
from pythonjsonlogger.json import JsonFormatter

from tenants.celery import NO_TENANT, TENANT_HEADER
from tenants.context import get_current_tenant

REQUEST_ID_HEADER = "tenantry_request_id"
_VALID_REQUEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")
_request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)


def accepted_request_id(value: str | None) -> str:
    """The caller's id if it is safe to log and echo, a fresh one otherwise."""
    if value and _VALID_REQUEST_ID.fullmatch(value):
        return value
    return uuid.uuid4().hex


@contextmanager
def request_id_scope(request_id: str | None) -> Iterator[str | None]:
    token = _request_id.set(request_id)
    try:
        yield request_id
    finally:
        _request_id.reset(token)


def current_request_id() -> str | None:
    """The id of the request being served, or of the request that queued the running task."""
    value = _request_id.get()
    return value if value is not None else _task_header(REQUEST_ID_HEADER)


def _task_header(name: str) -> str | None:
    from celery import current_task

    task = current_task._get_current_object() if current_task else None
    if task is None:
        return None
    request = task.request
    value = (getattr(request, "headers", None) or {}).get(name)
    return value if value is not None else getattr(request, name, None)


@signals.before_task_publish.connect(dispatch_uid="observability.request_id")
def _stamp_request_id(headers=None, **kwargs):
    # Alongside the tenant header of tenants.celery: the same message, another key.
    if headers is not None and REQUEST_ID_HEADER not in headers:
        request_id = current_request_id()
        if request_id is not None:
            headers[REQUEST_ID_HEADER] = request_id


class ContextFilter(logging.Filter):
    """Adds tenant, tenant_id and request_id unless the call site gave them."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "tenant_id"):
            tenant = get_current_tenant()
            if tenant is not None:
                record.tenant_id, record.tenant = str(tenant.pk), tenant.subdomain
            else:
                # Before and after a task body (outside its scope): the tenant it was queued for.
                queued_for = _task_header(TENANT_HEADER)
                record.tenant_id = queued_for if queued_for != NO_TENANT else None
                record.tenant = None
        if not hasattr(record, "request_id"):
            record.request_id = current_request_id()
        return True


#: Celery puts a task's arguments in its log records: the `data` extra and the message's
#: mapping of celery.worker.strategy ("received") and celery.app.trace (succeeded, failed,
#: retry), the message text of the pool's debug line. They are dropped, whatever the level:
#: an argument may be a secret a caller let through (docs/security.md); name and id stay.
TASK_ARGUMENT_KEYS = ("args", "kwargs")
HIDDEN = "[hidden]"
_POOL_APPLY = "TaskPool: Apply %s (args:%s kwargs:%s)"  # celery.concurrency.base, DEBUG


def drop_task_arguments(record: logging.LogRecord) -> None:
    """Remove task arguments from `record`, in place (every handler then sees it without)."""
    data = getattr(record, "data", None)
    if isinstance(data, Mapping) and any(key in data for key in TASK_ARGUMENT_KEYS):
        record.data = {k: v for k, v in data.items() if k not in TASK_ARGUMENT_KEYS}
    args = record.args
    if isinstance(args, Mapping) and any(key in args for key in TASK_ARGUMENT_KEYS):
        # Replaced, not removed: a format naming %(args)s must still format.
        record.args = {k: HIDDEN if k in TASK_ARGUMENT_KEYS else v for k, v in args.items()}
    elif record.msg == _POOL_APPLY and isinstance(args, tuple) and len(args) == 3:
        record.args = (args[0], HIDDEN, HIDDEN)


class _TaskSafeJsonFormatter(JsonFormatter):
    def format(self, record: logging.LogRecord) -> str:
        drop_task_arguments(record)
        return super().format(record)


class TaskSafeFormatter(logging.Formatter):
    """The plain text formatter, without task arguments either."""

    def format(self, record: logging.LogRecord) -> str:
        drop_task_arguments(record)
        return super().format(record)


def json_formatter() -> JsonFormatter:
    return _TaskSafeJsonFormatter(
        "%(asctime)s %(levelname)s %(name)s %(message)s",
        rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
        timestamp=False,
    )


_access = logging.getLogger("observability.access")
_tasks = logging.getLogger("observability.tasks")


def log_request(request, response, *, route: str, duration_ms: float) -> None:
    """One line per request, written after the response (the tenant scope has ended)."""
    if not _access.isEnabledFor(logging.INFO):
        return
    tenant = getattr(request, "tenant", None)
    _access.info(
        "%s %s %s",
        request.method,
        route,
        response.status_code,
        extra={
            "tenant_id": str(tenant.pk) if tenant is not None else None,
            "tenant": tenant.subdomain if tenant is not None else None,
            "method": request.method,
            "route": route,
            "status": response.status_code,
            "duration_ms": round(duration_ms, 2),
            **_actor(request),
        },
    )


def _actor(request) -> dict:
    """The user or API token, without evaluating a lazy user (that would query, out of scope)."""
    auth = getattr(request, "auth", None)
    token_id = getattr(getattr(auth, "token", None), "pk", None) or getattr(auth, "pk", None)
    if token_id is not None:
        return {"token_id": str(token_id)}
    user = request.__dict__.get("user")
    wrapped = getattr(user, "_wrapped", user)
    if wrapped is None or wrapped is empty or not getattr(wrapped, "is_authenticated", False):
        return {}
    return {"user_id": str(wrapped.pk)}


@signals.task_prerun.connect(dispatch_uid="observability.task_start")
def _log_task_start(task_id=None, task=None, **kwargs):
    _tasks.info("task %s started", task.name, extra={"task": task.name, "task_id": task_id})


@signals.task_postrun.connect(dispatch_uid="observability.task_end")
def _log_task_end(task_id=None, task=None, state=None, **kwargs):
    _tasks.info(
        "task %s %s",
        task.name,
        state,
        extra={"task": task.name, "task_id": task_id, "state": state},
    )
