"""What billing refuses, with messages meant for the person asking."""

from __future__ import annotations

from billing.limits import LIMIT_LABELS, LimitUsage
from billing.models import Plan


class BillingError(Exception):
    """Refused with a message meant for the person asking."""


class PlanChangeRefused(BillingError):
    """A downgrade below current usage. Lists every limit the usage exceeds."""

    code = "plan_change_refused"

    def __init__(self, *, plan: Plan, exceeded: list[LimitUsage]):
        self.plan, self.exceeded = plan, exceeded
        parts = ", ".join(
            f"{LIMIT_LABELS[u.name]}: {u.usage} in use, {plan.name} allows {u.limit}"
            for u in exceeded
        )
        super().__init__(
            f"Cannot change to {plan.name}: current usage exceeds its limits ({parts}). "
            "Reduce usage first or choose a larger plan."
        )

    def as_dict(self) -> dict:
        return {
            "code": self.code,
            "message": str(self),
            "plan": self.plan.code,
            "exceeded": [
                {"name": u.name, "limit": u.limit, "usage": u.usage} for u in self.exceeded
            ],
        }


class PlanNeedsOperator(BillingError):
    """A plan the tenant cannot switch to itself: not public, or it needs another placement."""

    code = "plan_needs_operator"
