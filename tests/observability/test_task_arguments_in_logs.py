"""Log lines never print a task's arguments: Celery's own records carry them, our formatters drop them."""

from __future__ import annotations

import json
import logging

from celery.app.trace import LOG_RECEIVED, LOG_SUCCESS

from observability.logs import TaskSafeFormatter, json_formatter

SECRET = "raw-single-use-token-0123456789abcdef"


def _record(name, msg, args, data=None):
    record = logging.LogRecord(name, logging.INFO, __file__, 1, msg, args, None)
    if data is not None:
        record.data = data
    return record


def _celery_records():
    # As celery.worker.strategy and celery.app.trace log them: the context is also `data`.
    received = {"id": "abc-1", "name": "accounts.send_invitation_email"}
    received.update(args=f"['id-1', '{SECRET}']", kwargs="{}", eta=None)
    succeeded = {"id": "abc-1", "name": "accounts.send_invitation_email"}
    succeeded.update(return_value="'sent'", runtime=0.01, args=f"('{SECRET}',)", kwargs="{}")
    pool_args = ("<function trace>", f"(('{SECRET}',),)", "{}")
    return [
        _record("celery.worker.strategy", LOG_RECEIVED, (received,), received),
        _record("celery.app.trace", LOG_SUCCESS, (succeeded,), succeeded),
        _record("celery.pool", "TaskPool: Apply %s (args:%s kwargs:%s)", pool_args),
    ]


def test_the_json_formatter_drops_task_arguments_and_keeps_name_and_id():
    lines = [json_formatter().format(r) for r in _celery_records()]
    assert not any(SECRET in line for line in lines), lines
    received, succeeded, _ = (json.loads(line) for line in lines)
    assert received["message"] == "Task accounts.send_invitation_email[abc-1] received"
    assert received["data"]["id"] == "abc-1"
    assert received["data"]["name"] == "accounts.send_invitation_email"
    assert "args" not in received["data"] and "kwargs" not in received["data"]
    assert succeeded["message"].startswith("Task accounts.send_invitation_email[abc-1] succeeded")


def test_the_plain_formatter_drops_them_too_even_from_a_format_that_names_them():
    formatter = TaskSafeFormatter(fmt="%(name)s %(message)s %(data)s")
    lines = [formatter.format(r) for r in _celery_records()[:2]]
    assert not any(SECRET in line for line in lines), lines
    assert "accounts.send_invitation_email[abc-1] received" in lines[0]
    loose = _record("celery.x", "%(name)s got %(args)s", ({"name": "t", "args": SECRET},))
    assert TaskSafeFormatter(fmt="%(message)s").format(loose) == "t got [hidden]"
