"""How many members a tenant has, for billing (plan limits and usage roll-ups).

Members are active users plus pending invitations (neither accepted, revoked nor
expired): an invitation holds its seat, since accepting it is not checked against the
plan again (docs/billing.md). The rule is SQL (accounts/migrations/0009_usage_sql.py), so
the limit check can count under its lock in the statement that takes it.
"""

from __future__ import annotations

from billing.meters import meter_register, usage_sql


def members_count(tenant) -> int:
    return usage_sql(tenant, "SELECT public.saas_usage_members(%s)", [tenant.pk])


def register() -> None:
    meter_register("members", count=members_count)
