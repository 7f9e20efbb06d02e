"""create_limits_ratio: the product's create with a finite plan limit against the same create
without one (benchmarks/api.py runs it with the pinned configuration's servers)."""

from __future__ import annotations

import time

from benchmarks import data
from benchmarks.api_common import (
    BENCH_PLAN,
    _api_ready,
    _cleanup_created,
    _ranks,
    _ratios,
    _variant_targets,
    _warm,
)
from benchmarks.common import log, median
from benchmarks.load import turns, wrk

LIMITED = 1_000_000_000  # a finite max_projects no bench tenant reaches
LIMITED_PLAN = "bench-limited"


def _on_limited_plan(tenants) -> None:
    """Put `tenants` on a copy of the bench plan with a finite max_projects (LIMITED)."""
    from billing.models import Plan
    from tenants.control import control_alias
    from tenants.models import Tenant

    alias = control_alias("benchmark set-up: a plan with a finite limit")
    bench = Plan.objects.using(alias).get(code=BENCH_PLAN)
    fields = {
        f.name: getattr(bench, f.name)
        for f in Plan._meta.concrete_fields
        if f.name not in ("id", "code", "name")
    }
    limited, _ = Plan.objects.using(alias).update_or_create(
        code=LIMITED_PLAN,
        defaults={**fields, "name": "Bench (finite limits)", "max_projects": LIMITED},
    )
    Tenant.objects.using(alias).filter(pk__in=[t.pk for t in tenants]).update(plan=limited)
    time.sleep(0.3)  # the registry trigger's NOTIFY reaches the servers' listeners


def _shared_neighbour(rank: int, taken: set[int]):
    """The next pooled tenant in rank order (some bench tenants were moved into a mode)."""
    while True:
        rank += 1
        if rank not in taken:
            t = data.tenant(rank)
            if t.isolation == "shared":
                return t


def create_limits(url, size, cfg, rounds, seconds) -> dict:
    """The product's create with a finite max_projects against the same create unlimited.

    Pinned and in turns, like the API's headline (load.turns): the limited side is the
    shared API tenants on a plan with max_projects = LIMITED, the unlimited side each one's
    neighbour in rank (nearly the same size; the larger of the two on the limited side,
    whose count grows with it) on the bench plan. Both plans are otherwise the same.
    """
    ranks = _ranks(size, 50)
    limited = [data.tenant(r) for r in ranks]
    unlimited = [_shared_neighbour(r, set(ranks)) for r in ranks]
    tokens = _api_ready(limited + unlimited)
    _on_limited_plan(limited)
    sides = {
        "limited": (url, _variant_targets("tenancy", limited, tokens)),
        "unlimited": (url, _variant_targets("tenancy", unlimited, tokens)),
    }
    try:
        for side in sides.values():  # warm the server's caches for both groups
            _warm(lambda side=side: wrk(side[0], side[1], "POST", 2, cfg["connections"]))
        got = turns(sides, "POST", seconds * rounds, rounds)
    finally:
        _api_ready(limited)  # back on the bench plan
        _cleanup_created(limited + unlimited)
    out = _ratios(got, "limited", "unlimited")
    out["limited_p50_us"] = median([r["p50"] for r in got["limited"]])
    out["unlimited_p50_us"] = median([r["p50"] for r in got["unlimited"]])
    log(
        f"create with limits: p50 x{out['p50']:.3f} ({out['limited_p50_us']:.0f} vs "
        f"{out['unlimited_p50_us']:.0f} µs)"
    )
    return out
