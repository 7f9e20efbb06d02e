"""The tenant-aware Celery task base: a task runs in exactly the tenant it was queued for.

Queueing (`apply_async`, and so `delay`, `delay_on_commit`, retries) stamps the
message with a header holding the id of the tenant current in
`tenants.context` at that moment, or an explicit "none". Arguments never
choose the tenant. On the worker, `__call__` loads that Tenant (control plane)
and runs the task body inside `tenant_scope(tenant)`, restored in `finally`,
so a failing task leaves nothing behind. The database context itself is
transaction-local (tenants.db), so it cannot outlive the task either.

The tenant's status is read fresh from the control plane at the start of
every run (never from the resolver's cache): a task of a suspended or
deleting tenant runs nothing (`on_tenant_inactive`), one of a moving or
provisioning tenant comes back later (`on_tenant_busy`), and a run refused by a
placement fence (a move switching the tenant) comes back seconds later
(`on_tenant_fenced`), in the tenant's new placement.

Fleet tasks (usage roll-up, plan compliance) run with no tenant and say so:
`@fleet_task`; they reach tenants one at a time through `for_each_tenant`.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Iterator

from celery import Task, shared_task

from tenants.context import get_current_tenant, tenant_scope
from tenants.fence import is_fence_error

logger = logging.getLogger("tenants.celery")

TENANT_HEADER = "tenantry_tenant"
NO_TENANT = "-"


class TenantGone(Exception):
    """The tenant a task was queued for no longer exists: the task is dropped."""

    def __init__(self, message: str, tenant_id: str | None = None):
        super().__init__(message)
        self.tenant_id = tenant_id


#: A task of a tenant in one of these states waits and comes back; in any other
#: state but active it is refused.
BUSY_STATUSES = ("moving", "provisioning")
BUSY_RETRY_SECONDS = 30
BUSY_MAX_RETRIES = 240  # two hours of a move or provisioning, then refused
#: A run refused by a placement fence (a move's switch) comes back this soon.
FENCED_RETRY_SECONDS = 2


def message_header(request, name: str = TENANT_HEADER) -> str | None:
    headers = getattr(request, "headers", None) or {}
    value = headers.get(name)
    if value is None:
        value = getattr(request, name, None)
    return value


def _load_tenant(tenant_id: str):
    from tenants.context import no_tenant
    from tenants.models import Tenant

    with no_tenant():
        tenant = Tenant.objects.select_related("plan").filter(pk=tenant_id).first()
    if tenant is None:
        raise TenantGone(f"tenant {tenant_id} no longer exists", tenant_id)
    return tenant


class TenantTask(Task):
    """Default base of every task in this project (saas/celery.py sets it)."""

    #: Fleet tasks run with no tenant and iterate tenants themselves.
    fleet = False

    # Retries: exponential backoff with jitter for the exceptions a task lists
    # in `autoretry_for`; `retry_with_backoff()` for explicit retries.
    retry_backoff = 2
    retry_backoff_max = 300
    retry_jitter = True
    max_retries = 5

    def apply_async(self, args=None, kwargs=None, task_id=None, producer=None, **options):
        headers = dict(options.pop("headers", None) or {})
        tenant = None if self.fleet else get_current_tenant()
        # Whatever the caller (or a copied request) put there, the context decides.
        headers[TENANT_HEADER] = str(tenant.pk) if tenant is not None else NO_TENANT
        options["headers"] = headers
        return super().apply_async(args, kwargs, task_id=task_id, producer=producer, **options)

    def __call__(self, *args, **kwargs):
        tenant = None
        if not self.fleet:
            value = message_header(self.request)
            if value and value != NO_TENANT:
                try:
                    tenant = _load_tenant(value)
                except TenantGone as exc:
                    logger.warning("dropping %s[%s]: %s", self.name, self.request.id, exc)
                    return self.on_tenant_gone(exc, args, kwargs)
        # Called directly (not through a worker) with no header: run in no
        # tenant, never inherit the caller's, so tests see what a worker would.
        with tenant_scope(tenant):
            if tenant is not None and not tenant.is_active:
                if tenant.status in BUSY_STATUSES:
                    return self.on_tenant_busy(tenant, args, kwargs)
                logger.warning(
                    "refusing %s[%s]: tenant %s is %s",
                    self.name,
                    self.request.id,
                    tenant.subdomain,
                    tenant.status,
                )
                return self.on_tenant_inactive(tenant, args, kwargs)
            try:
                return self.run_scoped(args, kwargs)
            except Exception as exc:
                if tenant is None or self.request.is_eager or not is_fence_error(exc):
                    raise
                return self.on_tenant_fenced(tenant, exc)

    def run_scoped(self, args, kwargs):
        """The task body, already in its tenant's scope (subclasses wrap it)."""
        return super().__call__(*args, **kwargs)

    def on_tenant_gone(self, exc: TenantGone, args, kwargs):
        """The tenant was deleted after the task was queued: nothing to do for it."""
        return {"dropped": str(exc)}

    def on_tenant_inactive(self, tenant, args, kwargs):
        """Suspended or being deleted: the work is not done (subclasses record why)."""
        return {"refused": inactive_reason(tenant)}

    def on_tenant_busy(self, tenant, args, kwargs):
        """Moving or provisioning: the message comes back later, in the same tenant."""
        if self.request.is_eager or self.request.retries >= BUSY_MAX_RETRIES:
            # In-process there is no later; after two hours, the wait is over.
            return self.on_tenant_inactive(tenant, args, kwargs)
        logger.info(
            "%s[%s]: tenant %s is %s, retrying later",
            self.name,
            self.request.id,
            tenant.subdomain,
            tenant.status,
        )
        # Inside the tenant's scope: the retried message is stamped with the same tenant.
        raise self.retry(countdown=BUSY_RETRY_SECONDS, max_retries=BUSY_MAX_RETRIES + 1)

    def on_tenant_fenced(self, tenant, exc):
        """The tenant's placement was fenced under this run (a move switching it).

        The refused transaction rolled back whole; the message comes back shortly, loads
        the tenant afresh and runs where the registry then places it.
        """
        logger.warning(
            "%s[%s]: tenant %s's placement is fenced (a move switching it); retrying in %ss",
            self.name,
            self.request.id,
            tenant.subdomain,
            FENCED_RETRY_SECONDS,
        )
        raise self.retry(countdown=FENCED_RETRY_SECONDS, max_retries=BUSY_MAX_RETRIES + 1)

    def retry_with_backoff(self, exc: Exception | None = None, **options):
        """`self.retry` with exponential backoff and full jitter."""
        attempt = self.request.retries
        delay = min(self.retry_backoff_max, self.retry_backoff * (2**attempt))
        countdown = random.uniform(0, delay) if self.retry_jitter else delay  # noqa: S311
        return self.retry(exc=exc, countdown=countdown, **options)


def task_named(name: str) -> Task:
    """The registered task `name`: queue by name where importing the task would loop back.

    A service whose task calls it again (a webhook delivery schedules its own retry)
    names the task instead of importing it, so the imports point one way (task →
    service). Outside a worker, task modules load on first need. LookupError when no
    task has that name.
    """
    from celery import current_app

    if name not in current_app.tasks:
        current_app.loader.import_default_modules()
    try:
        return current_app.tasks[name]
    except KeyError:
        raise LookupError(f"no task named {name!r}") from None


def inactive_reason(tenant) -> str:
    return f"refused: the organisation is {tenant.status}"


class FleetTask(TenantTask):
    fleet = True


def fleet_task(*args, **kwargs):
    """Declare a task that spans tenants: it runs with none and uses for_each_tenant()."""
    kwargs.setdefault("base", FleetTask)
    return shared_task(*args, **kwargs)


def for_each_tenant(*, statuses=("active",)) -> Iterator:
    """Yield each tenant (control-plane read), with the block running in its scope."""
    from tenants.context import no_tenant
    from tenants.models import Tenant

    with no_tenant():
        tenants = list(Tenant.objects.select_related("plan").filter(status__in=statuses))
    for tenant in tenants:
        with tenant_scope(tenant):
            yield tenant
