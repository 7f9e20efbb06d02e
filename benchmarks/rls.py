"""rls_overhead_ratio: the same ORM queries with RLS alone versus an explicit tenant filter.

RLS side: the app role through tenants.db, `Model.unscoped` (no app-level
filter) inside `tenant_scope`: only the policy restricts the rows. Filter
side: the `plain` alias (stock backend, BYPASSRLS operator role, same
database and rows) with `.filter(tenant_id=…)` on every table the query
reads. Per round and query, both sides run over a large, a medium and a
small tenant; the figure is the worst query's median per-round ratio.
"""

from __future__ import annotations

from pathlib import Path

from benchmarks import data
from benchmarks.common import interleave, log, median, ratio_summary, timed
from projects.models import Project, Task
from tenants.context import tenant_scope

PLAIN = "plain"


def _queries(tenant, project):
    """name -> (rls queryset factory, explicit-filter queryset factory)."""
    tid = tenant.pk
    created = project.created_at
    return {
        "point_lookup": (
            lambda: Project.unscoped.filter(pk=project.pk),
            lambda: Project.unscoped.using(PLAIN).filter(tenant_id=tid, pk=project.pk),
        ),
        "page_50": (
            lambda: Project.unscoped.order_by("-created_at")[:50],
            lambda: (
                Project.unscoped.using(PLAIN).filter(tenant_id=tid).order_by("-created_at")[:50]
            ),
        ),
        "count": (
            lambda: Project.unscoped.all(),
            lambda: Project.unscoped.using(PLAIN).filter(tenant_id=tid),
        ),
        "join": (
            lambda: (
                Task.unscoped.select_related("project")
                .filter(project__created_at__gte=created)
                .order_by("-created_at")[:50]
            ),
            lambda: (
                Task.unscoped.using(PLAIN)
                .select_related("project")
                .filter(tenant_id=tid, project__tenant_id=tid, project__created_at__gte=created)
                .order_by("-created_at")[:50]
            ),
        ),
    }


def _run(kind: str, qs_factory):
    if kind == "count":
        return lambda: qs_factory().count()
    if kind == "point_lookup":
        return lambda: qs_factory().get()
    return lambda: list(qs_factory())


def run(size, results_dir: Path) -> dict:
    cases = []
    for label, rank in data.sample_ranks(size).items():
        t = data.tenant(rank)
        with tenant_scope(t):
            # A project in the middle of the tenant's timeline: the join reads about half.
            projects = list(Project.unscoped.order_by("created_at").values_list("pk", flat=True))
            project = Project.unscoped.get(pk=projects[len(projects) // 2])
        cases.append((label, t, project))

    by_query = {}
    explain = ["# EXPLAIN plans: RLS versus explicit tenant filter\n"]
    for kind in ("point_lookup", "page_50", "count", "join"):

        def side(rls: bool, kind=kind):
            total = 0.0
            for _label, t, project in cases:
                rls_qs, plain_qs = _queries(t, project)[kind]
                if rls:
                    with tenant_scope(t):
                        total += timed(_run(kind, rls_qs), size.inner)
                else:
                    total += timed(_run(kind, plain_qs), size.inner)
            return total / len(cases)

        side(True), side(False)  # warm caches and connections
        summary = ratio_summary(
            interleave(size.rounds, lambda: side(True), lambda: side(False)), 1e6
        )
        by_query[kind] = {
            "ratio": summary["ratio"],
            "rls_us": summary["a_median"],
            "filter_us": summary["b_median"],
            "rounds": summary["rounds"],
        }
        log(
            f"rls {kind}: ratio {summary['ratio']:.3f} ({summary['a_median']:.0f} vs {summary['b_median']:.0f} µs)"
        )

        label, t, project = cases[0]
        rls_qs, plain_qs = _queries(t, project)[kind]
        with tenant_scope(t):
            rls_plan = rls_qs().explain(analyze=True)
        plain_plan = plain_qs().explain(analyze=True)
        explain.append(
            f"## {kind} ({label} tenant, {t.subdomain})\n\n### RLS only (app role, tenant_scope)\n\n"
            f"```\n{rls_plan}\n```\n\n### explicit filter (no RLS)\n\n```\n{plain_plan}\n```\n"
        )
    (results_dir / "explain.md").write_text("\n".join(explain))
    worst = max(by_query, key=lambda k: by_query[k]["ratio"])
    return {
        "rls_overhead_ratio": by_query[worst]["ratio"],
        "rls_overhead_worst_query": worst,
        "rls_overhead_by_query": by_query,
        "rls_overhead_median_of_queries": median([v["ratio"] for v in by_query.values()]),
    }
