"""Job kinds: a name, whether it needs a tenant, and the function that does the work.

Adding a kind is a few lines anywhere that is imported at start-up:

    @job_kind("tenant_move", tenant=True)
    def tenant_move_job(job, *, report, target="database"):
        report(10, "copying rows")
        ...
        return {"moved": n}

The function runs in the job's tenant scope (the Celery base puts it there;
`scoped=False` for operator work about a tenant, which runs with none),
gets the Job row and a `report(progress, message)` callback, and returns the
JSON result. It must be idempotent: after a worker crash it runs again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class JobKind:
    name: str
    func: Callable
    tenant: bool  # True: must be started for a tenant
    max_attempts: int = 3
    # False: an operator job about a tenant (provision, move): the row names the
    # tenant, but the task runs with no tenant in context, like an operator command.
    scoped: bool = True
    # A webhook event type recorded with the job's success, and its data (job, result) -> dict.
    event: str = ""
    event_data: Callable | None = None
    # (tenant, params) → None, or raises (a one-line reason) to refuse the job before
    # it is queued: residency, a server of another region.
    precheck: Callable | None = None


_KINDS: dict[str, JobKind] = {}


def job_kind(
    name: str,
    *,
    tenant: bool,
    max_attempts: int = 3,
    scoped: bool = True,
    event: str = "",
    event_data: Callable | None = None,
    precheck: Callable | None = None,
):
    def register(func):
        _KINDS[name] = JobKind(
            name=name,
            func=func,
            tenant=tenant,
            max_attempts=max_attempts,
            scoped=scoped,
            event=event,
            event_data=event_data,
            precheck=precheck,
        )
        return func

    return register


def get_kind(name: str) -> JobKind:
    try:
        return _KINDS[name]
    except KeyError:
        raise LookupError(
            f"unknown job kind {name!r}; known: {', '.join(sorted(_KINDS))}"
        ) from None


def kinds() -> list[str]:
    return sorted(_KINDS)
