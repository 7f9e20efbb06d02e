"""The one place that decides what a tenant's plan allows. Every door calls it.

Which plan: reads (feature gates, the rate limit, timeouts) use the plan the
resolved tenant carries, which the registry cache keeps at most
TENANT_REGISTRY_MAX_AGE old (a plan change notifies every process at once).
Writes that a limit bounds read the plan fresh, under the lock below — where the
plan and the rows share a database. Where they do not (a tenant in its own database
or in another server's pool) the limits kept beside the rows confirm the carried
plan instead, and a plan change deletes them under the exclusive lock
(`_check_apart`, docs/billing.md).

Race safety: `limit_check` takes a transaction-scoped advisory lock per
(tenant, limit) before counting, on the connection that will do the insert, so
concurrent creations at the edge of a limit are serialised and never overshoot.
Lock, fresh plan and count are one statement (saas_limit_check, migrations 0008 and
0011); the count is the owning app's SQL rule, the one its meter uses too. The function
plans its own statements under a fixed search_path and counts under the caller's (a schema
tenant's own tables): a cached plan is re-planned whenever the path changes, and schema
tenants taking turns on a connection change it on every transaction.
Call it inside the creating service's transaction (tenant_atomic). A plan change
takes `plan_lock` (the exclusive side of a lock every check holds shared), so a
creation checked against the old plan cannot commit after the change compared
usage with the new one.
"""

from __future__ import annotations

from contextlib import nullcontext
from dataclasses import dataclass

from django.db import DEFAULT_DB_ALIAS, connections

from billing.meters import usage_count, usage_count_fullest
from tenants.context import no_tenant
from tenants.routers import data_alias


class PlanLimitExceeded(Exception):
    code = "plan_limit_exceeded"

    def __init__(
        self, *, limit: str, limit_value: int, usage: int, plan: str, upgrade_to: str | None
    ):
        self.limit, self.limit_value, self.usage = limit, limit_value, usage
        self.plan, self.upgrade_to = plan, upgrade_to
        lift = f" Upgrade to {upgrade_to} to raise it." if upgrade_to else ""
        have = "this project has" if limit == "max_tasks_per_project" else "you have"
        super().__init__(
            f"Your {plan} plan allows {limit_value} {LIMIT_LABELS.get(limit, limit)}; "
            f"{have} {usage}.{lift}"
        )

    def as_dict(self) -> dict:
        return {
            "code": self.code,
            "message": str(self),
            "limit": self.limit,
            "limit_value": self.limit_value,
            "usage": self.usage,
            "plan": self.plan,
            "upgrade_to": self.upgrade_to,
        }


class FeatureNotInPlan(Exception):
    code = "feature_not_in_plan"

    def __init__(self, *, feature: str, plan: str, upgrade_to: str | None):
        self.feature, self.plan, self.upgrade_to = feature, plan, upgrade_to
        lift = f" It is included in {upgrade_to}." if upgrade_to else ""
        super().__init__(f"Your {plan} plan does not include {feature.replace('_', ' ')}.{lift}")

    def as_dict(self) -> dict:
        return {
            "code": self.code,
            "message": str(self),
            "feature": self.feature,
            "plan": self.plan,
            "upgrade_to": self.upgrade_to,
        }


LIMIT_LABELS = {
    "max_members": "members",
    "max_projects": "projects",
    "max_tasks_per_project": "tasks per project",
}


@dataclass(frozen=True)
class LimitUsage:
    name: str
    limit: int | None  # None = unlimited
    usage: int


# The resource (billing.meters) each limit is counted on.
LIMIT_RESOURCES = {
    "max_members": "members",
    "max_projects": "projects",
    "max_tasks_per_project": "tasks",  # per project
}
PER_PARENT_LIMITS = {"max_tasks_per_project"}


def _count(tenant, limit: str, parent=None) -> int:
    if limit not in LIMIT_RESOURCES:
        raise ValueError(f"unknown limit {limit!r}")
    resource = LIMIT_RESOURCES[limit]
    if limit in PER_PARENT_LIMITS and parent is None:
        # Tenant-wide: the fullest project is what a plan's limit must fit.
        return usage_count_fullest(tenant=tenant, resource=resource)
    return usage_count(tenant=tenant, resource=resource, parent=parent)


def _plan(tenant):
    from billing.models import Plan

    # Read fresh through the tenant row, not tenant.plan: the instance may come
    # from a cache, and a plan change must take effect at once.
    return Plan.objects.get(tenants__pk=tenant.pk)


def tenant_plan(tenant):
    """The plan the tenant instance carries: from the registry cache, at most its bound old."""
    return tenant.plan


def _upgrade_for(plan, limit: str | None = None, feature: str | None = None):
    from billing.models import Plan

    for candidate in Plan.objects.filter(sort_order__gt=plan.sort_order, is_public=True):
        if limit is not None:
            value = getattr(candidate, limit)
            if value is None or value > (getattr(plan, limit) or 0):
                return candidate.name
        if feature is not None and candidate.has_feature(feature):
            return candidate.name
    return None


def _lock_key(tenant, name: str) -> str:
    return f"{tenant.pk}:{name}"


def advisory_xact_lock(alias: str, key: str) -> None:
    """An exclusive advisory lock on `key`, held until the transaction on `alias` ends."""
    with connections[alias].cursor() as cur:
        cur.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", [key])


def plan_lock(*, tenant) -> None:
    """Exclusive per-tenant plan lock: waits for in-flight creations, holds new ones until commit.

    Taken by a plan change before it compares usage with the new plan, so no
    creation checked against the old plan can commit after the comparison.
    """
    advisory_xact_lock(data_alias(tenant), _lock_key(tenant, "plan"))


def limit_check(*, tenant, limit: str, adding: int = 1, parent=None) -> None:
    """Raise PlanLimitExceeded if adding `adding` would pass the plan's `limit`.

    The tenant's plan lock in shared mode (creations do not wait for each other
    on it, a plan change waits for them), then the plan read fresh, then — only
    when the plan sets this limit — the (tenant, limit[, parent]) lock
    exclusively, which serialises concurrent creations, then the count, which
    sees the previous creation's committed row (READ COMMITTED takes a fresh
    snapshot per statement inside the function). Where the plan and the data
    share a database that is one statement (saas_limit_check); an unlimited plan
    then locks and counts nothing more.
    """
    if limit not in LIMIT_LABELS:
        raise ValueError(f"unknown limit {limit!r}")
    plan_key = _lock_key(tenant, "plan")
    key = _lock_key(tenant, f"{limit}:{getattr(parent, 'pk', '')}")
    args = [tenant.pk, limit, plan_key, key, getattr(parent, "pk", None)]
    alias = data_alias(tenant)
    with connections[alias].cursor() as cur:
        if alias == DEFAULT_DB_ALIAS:
            cur.execute(
                "SELECT plan_id, limit_value, usage FROM public.saas_limit_check("
                "%s, %s, %s, %s, %s, pg_catalog.current_setting('search_path'))",
                args,
            )
            plan_id, value, usage = cur.fetchone()
            if plan_id is None:
                raise LookupError(f"tenant {tenant.pk} has no plan row")
        else:
            value, usage = _check_apart(cur, tenant, limit, args)
    if value is None or usage + adding <= value:
        return
    plan = _plan(tenant)  # the refusal names it: read under the held lock
    raise PlanLimitExceeded(
        limit=limit,
        limit_value=value,
        usage=usage,
        plan=plan.name,
        upgrade_to=_upgrade_for(plan, limit=limit),
    )


def _check_apart(cur, tenant, limit: str, args: list):
    """The rows and the locks in the tenant's placement database; the plan in the main one.

    Steady state, one statement in the placement's database (saas_limit_confirmed): the
    shared plan lock, then the plan the resolved instance carries compared with the
    limits kept there (billing_planlimits, written from the last fresh read), then, for
    a finite limit, the limit lock and the count. The row confirms the instance only
    when plan and limits are equal: a plan change deletes it under the exclusive plan
    lock, so an instance the change has not reached yet is never confirmed; a plan
    edit (plan_update) is seen once the instance in use was resolved after it (the
    registry drops it at once on NOTIFY, at the latest after its bound).
    Anything else reads the plan fresh on the main database (after the plan lock is
    held) and rewrites the row; the fresh plan decides, and counts if it must.
    """
    tenant_id, _, plan_key, key, parent = args
    carried = _carried_plan(tenant)
    usage = None
    if carried is not None:
        cur.execute(
            "SELECT confirmed, limit_value, usage FROM public.saas_limit_confirmed("
            "%s, %s, %s, %s, %s, %s, %s, %s, %s)",
            [*args, carried.pk, *(getattr(carried, name) for name in LIMIT_LABELS)],
        )
        confirmed, value, usage = cur.fetchone()
        if confirmed:
            return value, usage
    else:
        cur.execute("SELECT pg_advisory_xact_lock_shared(hashtextextended(%s, 0))", [plan_key])
    fresh = _fresh_limits(tenant_id)
    value = fresh[limit]
    if value is not None and usage is None:
        cur.execute(
            "SELECT public.saas_limit_usage(%s, %s, NULL, %s, %s)", [tenant_id, limit, key, parent]
        )
        usage = cur.fetchone()[0]
    cur.execute(_KEEP_LIMITS, [tenant_id, fresh["plan_id"], *(fresh[n] for n in LIMIT_LABELS)])
    return value, usage


# Written under the shared plan lock, from a read made after it was granted; a plan change
# (exclusive) deletes the row before it commits. One statement: insert the row, or update it
# only where it differs (an upsert's DO UPDATE would lock the row even when nothing changes,
# and queue the tenant's other creations behind this transaction). Unqualified: the
# placement's own table (a schema tenant's schema), the one a plan change deletes.
_KEEP_LIMITS = """
WITH fresh (tenant_id, plan_id, max_members, max_projects, max_tasks_per_project) AS (
    VALUES (%s::uuid, %s::bigint, %s::integer, %s::integer, %s::integer)
), inserted AS (
    INSERT INTO billing_planlimits
        (id, tenant_id, plan_id, max_members, max_projects, max_tasks_per_project)
    SELECT gen_random_uuid(), * FROM fresh
    ON CONFLICT (tenant_id) DO NOTHING
    RETURNING 1
)
UPDATE billing_planlimits l
   SET plan_id = f.plan_id, max_members = f.max_members, max_projects = f.max_projects,
       max_tasks_per_project = f.max_tasks_per_project
  FROM fresh f
 WHERE l.tenant_id = f.tenant_id AND NOT EXISTS (SELECT FROM inserted)
   AND (l.plan_id, l.max_members, l.max_projects, l.max_tasks_per_project)
       IS DISTINCT FROM (f.plan_id, f.max_members, f.max_projects, f.max_tasks_per_project)
"""


def _fresh_limits(tenant_id) -> dict:
    """The tenant's plan and its limits, read now on the main database."""
    from billing.models import Plan

    plan_alias = Plan.objects.db
    # The plan and the registry are control-plane rows without a policy: outside a
    # transaction the read needs no tenant context, so no enter call rides along (its
    # fence, locks and timeout are the tenant database's business, taken first).
    bare = not connections[plan_alias].in_atomic_block
    with no_tenant() if bare else nullcontext(), connections[plan_alias].cursor() as main:
        main.execute(
            "SELECT plan_id, max_members, max_projects, max_tasks_per_project "
            "FROM public.saas_plan_limits(%s)",
            [tenant_id],
        )
        row = main.fetchone()
    if row is None or row[0] is None:
        raise LookupError(f"tenant {tenant_id} has no plan row")
    return dict(zip(("plan_id", *LIMIT_LABELS), row, strict=True))


def forget_limits(*, tenant) -> None:
    """Drop the limits kept in the tenant's placement: the next check reads the plan fresh.

    Called by a plan change under the exclusive plan lock, in the same transaction.
    """
    with connections[data_alias(tenant)].cursor() as cur:
        # Unqualified: a schema tenant's own table (a row may have come along with a move).
        cur.execute("DELETE FROM billing_planlimits WHERE tenant_id = %s", [tenant.pk])


def _carried_plan(tenant):
    """The plan the instance already carries (no query); None when it carries none."""
    field = type(tenant)._meta.get_field("plan")
    if not field.is_cached(tenant):
        return None
    return tenant.plan


def feature_require(*, tenant, feature: str) -> None:
    """Raise FeatureNotInPlan unless the tenant's (cached, bounded) plan includes `feature`."""
    plan = tenant_plan(tenant)
    if not plan.has_feature(feature):
        raise FeatureNotInPlan(
            feature=feature, plan=plan.name, upgrade_to=_upgrade_for(plan, feature=feature)
        )


def limit_usages(*, tenant, plan=None) -> list[LimitUsage]:
    """Every limit of `plan` (default: the tenant's) with the tenant's current usage.

    For max_tasks_per_project the usage is that of the fullest project.
    """
    plan = plan if plan is not None else _plan(tenant)
    return [LimitUsage(name, getattr(plan, name), _count(tenant, name)) for name in LIMIT_LABELS]


def limits_exceeded(*, tenant, plan) -> list[LimitUsage]:
    """The limits of `plan` that the tenant's current usage is already over."""
    return [
        u
        for u in limit_usages(tenant=tenant, plan=plan)
        if u.limit is not None and u.usage > u.limit
    ]


def usage_summary(*, tenant) -> dict:
    """The plan's code and, per limit, its name, the limit and the current usage."""
    plan = _plan(tenant)
    return {
        "plan": plan.code,
        "limits": [
            {"name": u.name, "limit": u.limit, "usage": u.usage}
            for u in limit_usages(tenant=tenant, plan=plan)
        ],
        "features": list(plan.features or []),
        "api_requests_per_minute": plan.api_requests_per_minute,
    }
