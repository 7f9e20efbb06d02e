"""The one place that decides what a tenant's plan allows. Every door calls it.

Race safety: `limit_check` takes a transaction-scoped advisory lock per
(tenant, limit) before counting, on the connection that will do the insert, so
concurrent creations at the edge of a limit are serialised and never overshoot.
Call it inside the creating service's transaction (tenant_atomic).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import connections

from tenants.routers import data_alias


class PlanLimitExceeded(Exception):
    code = "plan_limit_exceeded"

    def __init__(
        self, *, limit: str, limit_value: int, usage: int, plan: str, upgrade_to: str | None
    ):
        self.limit, self.limit_value, self.usage = limit, limit_value, usage
        self.plan, self.upgrade_to = plan, upgrade_to
        lift = f" Upgrade to {upgrade_to} to raise it." if upgrade_to else ""
        super().__init__(
            f"Your {plan} plan allows {limit_value} {LIMIT_LABELS.get(limit, limit)}; "
            f"you have {usage}.{lift}"
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


def _count(tenant, limit: str, parent=None) -> int:
    from accounts.models import Invitation, User
    from projects.models import Project, Task

    if limit == "max_members":
        from django.utils import timezone

        pending = Invitation.objects.filter(
            tenant_id=tenant.pk,
            accepted_at__isnull=True,
            revoked_at__isnull=True,
            expires_at__gt=timezone.now(),
        ).count()
        return User.objects.filter(tenant_id=tenant.pk, is_active=True).count() + pending
    if limit == "max_projects":
        return Project.objects.filter(tenant_id=tenant.pk).count()
    if limit == "max_tasks_per_project":
        return Task.objects.filter(tenant_id=tenant.pk, project=parent).count()
    raise ValueError(f"unknown limit {limit!r}")


def _plan(tenant):
    from billing.models import Plan

    # Read fresh: a plan change must take effect at once, whatever is cached.
    return Plan.objects.get(pk=tenant.plan_id)


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


def limit_check(*, tenant, limit: str, adding: int = 1, parent=None) -> None:
    """Raise PlanLimitExceeded if adding `adding` would pass the plan's `limit`."""
    plan = _plan(tenant)
    value = getattr(plan, limit)
    if value is None:
        return
    key = f"{tenant.pk}:{limit}:{getattr(parent, 'pk', '')}"
    with connections[data_alias(tenant)].cursor() as cur:
        cur.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", [key])
    usage = _count(tenant, limit, parent)
    if usage + adding > value:
        raise PlanLimitExceeded(
            limit=limit,
            limit_value=value,
            usage=usage,
            plan=plan.name,
            upgrade_to=_upgrade_for(plan, limit=limit),
        )


def feature_require(*, tenant, feature: str) -> None:
    plan = _plan(tenant)
    if not plan.has_feature(feature):
        raise FeatureNotInPlan(
            feature=feature, plan=plan.name, upgrade_to=_upgrade_for(plan, feature=feature)
        )


def usage_summary(*, tenant) -> dict:
    """The plan's code and, per limit, its name, the limit and the current usage."""
    plan = _plan(tenant)
    limits = [
        LimitUsage("max_members", plan.max_members, _count(tenant, "max_members")),
        LimitUsage("max_projects", plan.max_projects, _count(tenant, "max_projects")),
    ]
    return {
        "plan": plan.code,
        "limits": [{"name": u.name, "limit": u.limit, "usage": u.usage} for u in limits],
        "features": list(plan.features or []),
        "api_requests_per_minute": plan.api_requests_per_minute,
    }
