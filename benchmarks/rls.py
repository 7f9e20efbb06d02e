"""rls_overhead_ratio: the same ORM queries with RLS alone versus an explicit tenant filter.

Three sides, same data, same ORM queries, interleaved (the order rotates
every round):

* `rls`: the app role through tenants.db, `Model.unscoped` (no app-level
  filter) inside `tenant_scope`: only the policy restricts the rows. This is
  the figure reported as `rls_overhead_ratio`.
* `rls_filter`: the scoped manager (`Model.objects`): what the product's selectors and
  services actually send, its explicit tenant filter on top of the policy
  (`tenants.managers.ScopedTenantId`: the policy's own `saas_current_tenant()` call on
  this backend), RLS still enforcing.
* `filter`: the `plain` alias (stock backend, BYPASSRLS operator role) with
  `.filter(tenant_id=…)` on every table the query reads: no RLS at all.

Each round runs every query over a large, a medium and a small tenant. The
figure is the worst query's median per-round ratio.

Each side's batch of queries runs in one transaction (`transaction.atomic` on its
alias), so the figures are the policy's cost per query: planning it, its InitPlan,
its filter. The tenant context (the enter call tenants.db sends once per
transaction) is the context's cost, not the policy's: the `context` stage reports it
per statement ("one statement, tenancy"). The same sides in autocommit, where every
query is its own transaction and pays the enter call, are kept in the detail
(`autocommit_*` keys) so both readings stay visible. The EXPLAIN ANALYZE of
the statement Django actually sent (captured, the tenant prefix stripped) is
written to results/explain.md for every side and tenant size.
"""

from __future__ import annotations

from pathlib import Path

from django.db import connections, transaction
from django.test.utils import CaptureQueriesContext

from benchmarks import data
from benchmarks.common import log, median, timed
from projects.models import Project, Task
from tenants.context import tenant_scope

PLAIN = "plain"
SIDES = ("rls", "rls_filter", "filter")
KINDS = ("point_lookup", "page_50", "count", "join")


def _rows(model, side: str, tid, **related_tenant):
    """`model`'s rows as `side` reads them (built at call time: the scoped manager needs
    the tenant in context)."""
    if side == "filter":
        return model.unscoped.using(PLAIN).filter(tenant_id=tid, **related_tenant)
    if side == "rls":
        return model.unscoped.all()
    return model.objects.all()  # rls_filter: the scoped manager's filter, as the product sends it


def _query(kind: str, side: str, tid, project):
    """A callable running query `kind` the way `side` sends it."""
    if kind == "point_lookup":
        return lambda: _rows(Project, side, tid).filter(pk=project.pk).get()
    if kind == "page_50":
        return lambda: list(_rows(Project, side, tid).order_by("-created_at")[:50])
    if kind == "count":
        return lambda: _rows(Project, side, tid).count()
    return lambda: list(
        _rows(Task, side, tid, project__tenant_id=tid)
        .select_related("project")
        .filter(project__created_at__gte=project.created_at)
        .order_by("-created_at")[:50]
    )


def _explain(side: str, fn, tenant) -> str:
    alias = PLAIN if side == "filter" else "default"
    conn = connections[alias]
    with tenant_scope(tenant if side != "filter" else None):
        with CaptureQueriesContext(conn) as ctx:
            fn()
        sent = ctx.captured_queries[-1]["sql"]
        # tenants.db's prefix (saas_enter_tenant, or SET LOCAL after a switch): explain
        # the statement itself.
        while sent.startswith(("SET LOCAL ", "SELECT public.saas_enter_tenant(")):
            sent = sent.split("; ", 1)[1]
        with conn.cursor() as cur:
            cur.execute("EXPLAIN (ANALYZE, COSTS, BUFFERS OFF) " + sent)
            plan = "\n".join(r[0] for r in cur.fetchall())
    return f"```sql\n{sent}\n```\n\n```\n{plan}\n```\n"


def run(size, results_dir: Path) -> dict:
    cases = []
    for label, rank in data.sample_ranks(size).items():
        t = data.tenant(rank)
        with tenant_scope(t):
            # A project in the middle of the tenant's timeline: the join reads about half.
            pks = list(Project.unscoped.order_by("created_at").values_list("pk", flat=True))
            project = Project.unscoped.get(pk=pks[len(pks) // 2])
        cases.append((label, t, project))

    by_query: dict = {}
    explain = [
        "# EXPLAIN plans: RLS only, RLS + explicit filter, explicit filter without RLS\n",
        "Written by `python -m benchmarks` (stage rls). `rls` is the app role with only the "
        "policy filtering; `rls_filter` is the scoped manager (its explicit tenant filter on top of the policy, as the product sends it); `filter` is "
        "the BYPASSRLS role with the explicit filter.\n",
    ]
    for kind in KINDS:
        calls = {s: [(t, _query(kind, s, t.pk, p)) for _, t, p in cases] for s in SIDES}

        def measure(side, in_transaction=True, calls=calls):
            total = 0.0
            alias = PLAIN if side == "filter" else "default"
            for t, fn in calls[side]:
                with tenant_scope(t if side != "filter" else None):
                    if in_transaction:
                        with transaction.atomic(using=alias):
                            total += timed(fn, size.inner)
                    else:
                        total += timed(fn, size.inner)
            return total / len(calls[side])

        for s in SIDES:  # warm connections and caches
            measure(s)
            measure(s, in_transaction=False)
        rounds, auto = [], []
        for r in range(size.rounds):
            order = SIDES[r % 3 :] + SIDES[: r % 3]
            rounds.append({s: measure(s) for s in order})
            auto.append({s: measure(s, in_transaction=False) for s in order if s != "rls"})
        by_query[kind] = {
            "ratio": median([x["rls"] / x["filter"] for x in rounds]),
            "rls_filter_ratio": median([x["rls_filter"] / x["filter"] for x in rounds]),
            "rls_us": median([x["rls"] * 1e6 for x in rounds]),
            "rls_filter_us": median([x["rls_filter"] * 1e6 for x in rounds]),
            "filter_us": median([x["filter"] * 1e6 for x in rounds]),
            "rounds": len(rounds),
            "autocommit_rls_filter_ratio": median([x["rls_filter"] / x["filter"] for x in auto]),
            "autocommit_rls_filter_us": median([x["rls_filter"] * 1e6 for x in auto]),
            "autocommit_filter_us": median([x["filter"] * 1e6 for x in auto]),
        }
        q = by_query[kind]
        log(
            f"rls {kind}: RLS only x{q['ratio']:.3f}, RLS+filter x{q['rls_filter_ratio']:.3f} "
            f"({q['rls_us']:.0f} / {q['rls_filter_us']:.0f} / {q['filter_us']:.0f} µs); "
            f"autocommit RLS+filter x{q['autocommit_rls_filter_ratio']:.3f}"
        )
        for label, t, p in cases:
            explain.append(f"## {kind}, {label} tenant ({t.subdomain})\n")
            for s in SIDES:
                explain.append(f"### {s}\n\n" + _explain(s, _query(kind, s, t.pk, p), t))
    (results_dir / "explain.md").write_text("\n".join(explain))
    worst = max(by_query, key=lambda k: by_query[k]["ratio"])
    worst_f = max(by_query, key=lambda k: by_query[k]["rls_filter_ratio"])
    return {
        "rls_overhead_ratio": by_query[worst]["ratio"],
        "rls_overhead_worst_query": worst,
        "rls_with_filter_overhead_ratio": by_query[worst_f]["rls_filter_ratio"],
        "rls_overhead_by_query": by_query,
    }
