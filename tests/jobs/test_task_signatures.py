"""No task of the project takes a secret as an argument (docs/security.md, task queue row).

A name check, not a proof: the outbox refuses any argument but an id at run time
(tests/accounts/test_invitation_tokens.py); this catches a direct task whose parameter
says it would carry a secret before it is ever queued.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import re

from django.apps import apps

from saas.celery import app

SECRET_NAME = re.compile(r"token|secret|password|passwd|key|hash|cookie|session|signature", re.I)
#: (task, parameter) → why it may stay.
ALLOWED = {
    ("accounts.send_invitation_email", "legacy_token"): (
        "only in outbox rows queued before invitation tokens were derived; never queued now"
    ),
}


def _project_tasks():
    # Each app's tasks module, as the worker's autodiscovery loads them (without its checks).
    for config in apps.get_app_configs():
        if importlib.util.find_spec(f"{config.name}.tasks") is not None:
            importlib.import_module(f"{config.name}.tasks")
    for name, task in sorted(app.tasks.items()):
        if name.startswith(("celery.", "tests.")):
            continue
        yield name, task


def test_no_task_parameter_is_named_like_a_secret():
    tasks = dict(_project_tasks())
    assert "accounts.send_invitation_email" in tasks and "jobs.run" in tasks
    found = []
    for name, task in tasks.items():
        for param in inspect.signature(task.run).parameters:
            if SECRET_NAME.search(param) and (name, param) not in ALLOWED:
                found.append(f"{name}({param})")
    assert not found, f"tasks take ids, never secrets (docs/security.md): {found}"
