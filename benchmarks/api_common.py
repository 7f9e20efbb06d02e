"""What the API stages share (api, create_limits, noisy, fleet): which bench tenants they use,
their plan and tokens, the requests' targets, warming a server, ratios of runs, and the
clean-up of the rows their creates leave."""

from __future__ import annotations

import psycopg
from django.conf import settings

from benchmarks import data
from benchmarks.common import median
from benchmarks.load import CREATED_NAME
from tenants.context import tenant_scope
from tenants.database_config import admin_conninfo

API_PATH = "/api/v1/projects/"


def _ranks(size, count: int, lo: int = 1) -> list[int]:
    span = size.tenants - lo + 1
    return sorted({lo + (i * 7919) % span for i in range(count)})


BENCH_PLAN = "bench-unlimited"


def _api_ready(tenants) -> dict:
    """Put the bench tenants on a plan without limits (the figure is latency, not the
    plan's rate limit) and give each a read/write token: {tenant id: Authorization}."""
    from accounts.services import token_create
    from billing.models import Plan
    from tenants.control import control_alias
    from tenants.models import Tenant

    alias = control_alias("benchmark set-up: an unlimited plan")  # plans: operator role
    plan, _ = Plan.objects.using(alias).update_or_create(
        code=BENCH_PLAN,
        defaults=dict(
            name="Bench (unlimited)",
            max_members=None,
            max_projects=None,
            max_tasks_per_project=None,
            api_requests_per_minute=100_000_000,
            features=["api_access"],
            is_public=False,
            statement_timeout_ms=30_000,
            sort_order=99,
        ),
    )
    Tenant.objects.using(alias).filter(pk__in=[t.pk for t in tenants]).update(plan=plan)
    tokens = {}
    for t in tenants:
        t = Tenant.objects.select_related("plan", "database_server").get(pk=t.pk)
        with tenant_scope(t):
            issued = token_create(tenant=t, name="bench", scopes=["read", "write"])
        tokens[t.pk] = f"Bearer {issued.secret}"
        if t.has_own_placement:
            # The baselines read this tenant's pooled copy: the token must be there too.
            from accounts.models import ApiToken

            ApiToken.unscoped.using("plain").bulk_create([issued.token])
    return tokens


def _targets(tenants, tenant_side: bool, path: str, tokens=None) -> list[tuple[str, str, str]]:
    if tenant_side:
        return [(f"{t.subdomain}.localhost", path, (tokens or {}).get(t.pk, "")) for t in tenants]
    return [("localhost", f"/plain/{t.pk}/projects/", "") for t in tenants]


def _variant_targets(variant: str, tenants, tokens) -> list[tuple[str, str, str]]:
    if variant == "stock":
        return [("localhost", f"/stock/{t.subdomain}{API_PATH}", tokens[t.pk]) for t in tenants]
    return [(f"{t.subdomain}.localhost", API_PATH, tokens[t.pk]) for t in tenants]


def _warm(fn, tries: int = 3) -> None:
    """A cold worker (imports, first connections) may answer nothing in a short run."""
    for attempt in range(tries):
        try:
            fn()
            return
        except RuntimeError:
            if attempt == tries - 1:
                raise


def _ratios(results: dict, a: str, b: str) -> dict:
    return {
        q: median([x[q] / y[q] for x, y in zip(results[a], results[b], strict=True)])
        for q in ("p50", "p95", "p99")
    }


def _cleanup_created(tenants=()) -> None:
    with psycopg.connect(
        admin_conninfo(settings.DATABASE_URL, data.dbname()), autocommit=True
    ) as c:
        c.execute(
            "DELETE FROM audit_auditevent WHERE action = 'project.create' AND data->>'name' = %s",
            [CREATED_NAME],
        )
        c.execute("DELETE FROM projects_project WHERE name = %s", [CREATED_NAME])
    # Rows created in tenants' own schemas and databases.
    from tenants.backends import backend_for
    from tenants.models import Tenant

    ids = [t.pk for t in tenants]
    for t in (
        Tenant.objects.filter(pk__in=ids)
        .exclude(isolation="shared")
        .select_related("database_server")
    ):
        try:
            with backend_for(t).placement(t).operator() as conn:
                conn.execute("DELETE FROM projects_project WHERE name = %s", [CREATED_NAME])
                conn.commit()
        except Exception:  # a placement that is gone is nothing to clean
            pass
