"""The transactional outbox: work a request accepts is a row committed with its change, then published.

A service calls `outbox_enqueue(task, *args)` inside its transaction. The row
(`tenants.models.OutboxMessage`: tenant-owned, RLS, always in the main
database) commits or rolls back with the change. Right after the commit the
relay publishes it (`outbox_publish`); when the broker is down the row stays
`pending` and the request that accepted the work is not disturbed.
`outbox_drain` (the `tenants.outbox_drain` beat task, `manage.py drain_outbox`)
publishes whatever is due. Each message carries its row id, and the relay stamps
the tenant header from the row's tenant, never from ambient context.
`OutboxTask` runs a row at most once: it locks the row, runs the body and marks
the row done in one transaction (an effect outside the database, a mail, is
at-least-once only in the window between its send and that commit).

A tenant whose rows live in another database (its own) cannot share one
transaction with the main database. Its row is written `held` before the
tenant's commit and released to `pending` by that commit; a held row whose
release never came (the process died in between) is published after
HOLD_TIMEOUT, and the task's own preconditions (is the invitation still
pending?) decide what it does.
"""

from __future__ import annotations

import logging
import uuid
from collections import defaultdict
from datetime import timedelta
from functools import partial

from celery import shared_task
from celery.exceptions import Retry
from django.db import router, transaction
from django.db.models import F, Q
from django.utils import timezone

from tenants.celery import TenantTask, inactive_reason, message_header, task_named
from tenants.context import dangerously_unscoped, get_current_tenant, no_tenant, tenant_scope
from tenants.models import OutboxMessage, OutboxStatus, Tenant
from tenants.residency import error_summary, redact
from tenants.routers import data_alias

logger = logging.getLogger("tenants.outbox")

OUTBOX_HEADER = "tenantry_outbox"
#: A published row whose task has not finished after this long is published again (its
#: message was lost with the broker's data). A late duplicate is harmless: a row runs once.
REPUBLISH_AFTER = timedelta(minutes=10)
#: Longer than any tenant transaction: a held row this old lost its release.
HOLD_TIMEOUT = timedelta(minutes=10)
#: When the broker refused the row, or its tenant was moving.
RETRY_DELAY = timedelta(seconds=30)
_OPEN = (OutboxStatus.HELD, OutboxStatus.PENDING, OutboxStatus.PUBLISHED)


def outbox_task(*args, **kwargs):
    """Declare a task that runs accepted work; queue it only with `outbox_enqueue`."""
    kwargs.setdefault("base", OutboxTask)
    return shared_task(*args, **kwargs)


def outbox_enqueue(task, *args, **kwargs) -> OutboxMessage:
    """Accept `task(*args, **kwargs)` for the current tenant, in the caller's transaction.

    `task`: the outbox task, or its name (tenants.celery.task_named: for a module its
    task imports). Arguments are ids (a UUID or its text, an integer, a boolean, None),
    never what they name, and anything else is refused: the row and the broker message
    are global (docs/residency.md), so no email address; and the row, the message and
    the worker's log lines outlive the work, so no secret (an invitation token, a
    webhook's signing secret): the task reads or makes it again when it runs
    (accounts.invitations.invitation_token). Nothing reaches the broker unless the
    transaction commits; after the commit nothing can fail the caller.
    """
    if isinstance(task, str):
        task = task_named(task)
    if not isinstance(task, OutboxTask):
        raise TypeError(f"{task.name} is not an outbox task (declare it with @outbox_task)")
    tenant = get_current_tenant()
    if tenant is None:
        raise ValueError("outbox_enqueue needs a tenant in context")
    refused = [value for value in [*args, *kwargs.values()] if not _is_id(value)]
    if refused:
        # The refused values are not echoed: one may be the very secret kept out of logs.
        raise ValueError(
            f"{task.name}: outbox arguments name records by id, never by an email address, "
            "a token or any other value (the outbox is global and outlives the work; the "
            f"task reads or makes the value when it runs): {len(refused)} refused"
        )
    change_alias = data_alias()
    held = change_alias != router.db_for_write(OutboxMessage)
    row = OutboxMessage.objects.create(
        tenant_id=tenant.pk,
        task=task.name,
        args=[_as_json(value) for value in args],
        kwargs={key: _as_json(value) for key, value in kwargs.items()},
        status=OutboxStatus.HELD if held else OutboxStatus.PENDING,
    )
    transaction.on_commit(
        partial(_after_commit, tenant, row.pk, held), using=change_alias, robust=True
    )
    return row


def _is_id(value) -> bool:
    if value is None or isinstance(value, (bool, int, uuid.UUID)):
        return True
    if not isinstance(value, str):
        return False
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def _as_json(value):
    return str(value) if isinstance(value, uuid.UUID) else value


def _after_commit(tenant, row_id, held: bool) -> None:
    # Runs after the change committed: it may log, never raise into the request.
    try:
        with tenant_scope(tenant):
            if held:
                OutboxMessage.objects.filter(pk=row_id, status=OutboxStatus.HELD).update(
                    status=OutboxStatus.PENDING
                )
            outbox_publish(tenant=tenant, ids=[row_id])
    except Exception:
        logger.exception("outbox %s: not published after commit; the drain will", row_id)


def outbox_publish(*, tenant, ids) -> int:
    """Publish these pending rows of `tenant` now; returns how many the broker took."""
    with tenant_scope(tenant):
        rows = list(
            OutboxMessage.objects.filter(
                tenant_id=tenant.pk, pk__in=ids, status=OutboxStatus.PENDING
            )
        )
        return sum(_publish(tenant, row) == "published" for row in rows)


def _publish(tenant, row: OutboxMessage) -> str:
    """ "published", "skipped" (finished or taken meanwhile) or "unavailable" (the broker)."""
    now = timezone.now()
    task = _task(row.task)
    if not isinstance(task, OutboxTask):
        _finish(row.pk, OutboxStatus.FAILED, f"unknown outbox task {row.task!r}")
        return "skipped"
    # Marked first: the task may finish (or defer itself) before apply_async returns.
    rows = OutboxMessage.objects.filter(pk=row.pk, status__in=_OPEN)
    if not rows.update(
        status=OutboxStatus.PUBLISHED, published_at=now, attempts=F("attempts") + 1, message=""
    ):
        return "skipped"
    try:
        # The header names the row's own tenant: apply_async stamps the context's.
        with tenant_scope(tenant):
            task.apply_async(
                args=row.args,
                kwargs=row.kwargs,
                task_id=str(row.pk),
                headers={OUTBOX_HEADER: str(row.pk)},
            )
    except Exception as exc:
        logger.warning("outbox %s (%s): broker unavailable: %r", row.pk, row.task, exc)
        OutboxMessage.objects.filter(pk=row.pk, status=OutboxStatus.PUBLISHED).update(
            status=OutboxStatus.PENDING,
            available_at=now + RETRY_DELAY,
            message=f"the task queue is unavailable ({exc.__class__.__name__}); will retry",
        )
        return "unavailable"
    return "published"


def outbox_drain(*, tenants=None, now=None, limit: int = 1000, waiting: bool = False) -> dict:
    """Publish every due row (pending, lost after publishing, held too long), each in its tenant.

    `waiting=True` also takes pending rows still inside their retry delay (an operator
    draining by hand once the broker is back).
    """
    now = now or timezone.now()
    pending = Q(status=OutboxStatus.PENDING)
    if not waiting:
        pending &= Q(available_at__lte=now)
    due = (
        pending
        | Q(status=OutboxStatus.PUBLISHED, published_at__lte=now - REPUBLISH_AFTER)
        | Q(status=OutboxStatus.HELD, created_at__lte=now - HOLD_TIMEOUT)
    )
    # One indexed query over the fleet's table: the RLS bypass is for finding rows only,
    # every row is then published (and re-read) in its own tenant's scope, never the caller's.
    with no_tenant(), dangerously_unscoped("outbox drain: find due work of every tenant"):
        found = OutboxMessage.unscoped.filter(due)
        if tenants is not None:
            found = found.filter(tenant_id__in=[t.pk for t in tenants])
        found = list(found.order_by("available_at").values_list("tenant_id", "pk")[:limit])
    by_tenant = defaultdict(list)
    for tenant_id, pk in found:
        by_tenant[tenant_id].append(pk)
    with no_tenant():
        registry = Tenant.objects.select_related("plan").in_bulk(list(by_tenant))
    outcomes = defaultdict(int)
    for tenant_id, ids in by_tenant.items():
        tenant = registry.get(tenant_id)
        if tenant is None:
            continue  # deleted: delete_tenant removes its rows with it
        with tenant_scope(tenant):
            for row in OutboxMessage.objects.filter(due, tenant_id=tenant.pk, pk__in=ids):
                outcomes[_publish(tenant, row)] += 1
    return {
        "due": len(found),
        "published": outcomes["published"],
        "unavailable": outcomes["unavailable"],
    }


def _task(name: str):
    try:
        return task_named(name)
    except LookupError:
        return None


def _finish(row_id, status: str, message: str) -> int:
    # Arguments may hold a single-use secret (an invitation token): kept no longer than needed.
    # The message is a status line in a global row: addresses never reach it (residency).
    return OutboxMessage.objects.filter(pk=row_id, status__in=_OPEN).update(
        status=status, message=redact(message)[:500], finished_at=timezone.now(), args=[], kwargs={}
    )


def _row_id(request):
    value = message_header(request, OUTBOX_HEADER) or getattr(request, "id", None)
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


class OutboxTask(TenantTask):
    """A task that runs one outbox row of its tenant, at most once.

    A message that names no open row of the header's tenant runs nothing: only
    work accepted through `outbox_enqueue` is done.
    """

    def run_scoped(self, args, kwargs):
        tenant, row_id = get_current_tenant(), _row_id(self.request)
        if tenant is None or row_id is None:
            logger.warning("refusing %s[%s]: no tenant or outbox row", self.name, self.request.id)
            return "refused: the message names no outbox row"
        try:
            with transaction.atomic(using=router.db_for_write(OutboxMessage)):
                row = (
                    OutboxMessage.objects.select_for_update()
                    .filter(tenant_id=tenant.pk, pk=row_id)
                    .first()
                )
                if row is None or row.task != self.name:
                    return "refused: no such outbox row in this tenant"
                if row.is_finished:
                    return f"skipped: already {row.status}"
                result = super().run_scoped(args, kwargs)
                _finish(row.pk, OutboxStatus.DONE, str(result))
                return result
        except Retry:
            OutboxMessage.objects.filter(pk=row_id).update(message="failed; retrying")
            raise
        except Exception as exc:
            # Retries exhausted (or none declared): the row says so and is not published again.
            # Its class and first line (an SMTP refusal's text names the recipient: redacted).
            logger.warning("outbox %s (%s) failed: %r", row_id, self.name, exc)
            _finish(row_id, OutboxStatus.FAILED, error_summary(exc))
            raise

    def on_tenant_inactive(self, tenant, args, kwargs):
        reason = inactive_reason(tenant)
        row_id = _row_id(self.request)
        if row_id is not None:
            _finish(row_id, OutboxStatus.REFUSED, reason)
        return reason

    def on_tenant_busy(self, tenant, args, kwargs):
        # Not dropped and not retried by Celery: the row goes back to the outbox for later.
        message = f"waiting: the organisation is {tenant.status}"
        row_id = _row_id(self.request)
        if row_id is not None:
            OutboxMessage.objects.filter(pk=row_id, status__in=_OPEN).update(
                status=OutboxStatus.PENDING,
                available_at=timezone.now() + RETRY_DELAY,
                message=message,
            )
        return message
