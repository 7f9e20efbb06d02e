"""API latency: the real /api/v1/projects/ list and create, three variants, two configurations.

Variants (VARIANTS): `tenancy`, the product; `off`, the same product code with the
stock database backend and no RLS (benchmarks.settings_off); `stock`, the same endpoints
written the stock Django/DRF way (benchmarks.stock). Every variant picks its tenant at
random per request with the same seed from the same tenants, with a token each.

* pinned (the headline): one gunicorn worker, one thread, one database connection per
  alias, one request in flight. The variants take turns in blocks of 10 requests
  (benchmarks.load.turns): their blocks run within tenths of a second of each other, so
  the host's drift over seconds slows them alike.
* saturated: the deployment's workers and threads, wrk with more connections than
  threads, run by run with the order rotating (wrk's own percentiles).

Ratios are medians of per-slice (pinned) or per-round (saturated) ratios. The harness
(gunicorn, wrk, turns) is benchmarks/load.py; the noisy-neighbour stage benchmarks/noisy.py.
"""

from __future__ import annotations

import contextlib
import os

from benchmarks import data
from benchmarks.api_common import (
    API_PATH,
    _api_ready,
    _cleanup_created,
    _ranks,
    _ratios,
    _variant_targets,
    _warm,
)
from benchmarks.common import log, median, replace_dbname
from benchmarks.create_limits import create_limits
from benchmarks.extensions import MODES, mode_available
from benchmarks.load import THREADS, WORKERS, Server, turns, wrk


def mode_ranks(size, mode: str) -> list[int]:
    """Shared bench tenants copied into a mode (disjoint from the shared comparison's)."""
    taken = set(_ranks(size, 50)) | {1, 2, 3}
    lo = size.tenants // (2 if mode == "schema" else 4)
    want = 50 if mode == "schema" else 20
    return [r for r in _ranks(size, want * 2, lo=lo) if r not in taken][
        : min(want, size.tenants // 10)
    ]


def mode_count(size, mode: str) -> int:
    """Tenants placed in a mode: 1,000 schemas and 20 databases at full size."""
    if mode == "schema":
        return size.djt_schemas
    return len(mode_ranks(size, "database"))


# The real endpoints: token auth, plan gate, rate limit (Redis), filters, COUNT + page.
VARIANTS = ("tenancy", "off", "stock")
# Database mode only: tenancy off with the placement kept (benchmarks.wsgi_off_placed).
# Reported beside the headline, which is against `off`: it splits database mode's share
# into the tenancy mechanism's (tenancy/placed) and the placement's (placed/off).
PLACED = "placed"
# pinned: one worker, one thread, one database connection per alias, one client
# connection — the per-request cost without queueing. saturated: the deployment's
# workers and threads, more client connections than threads.
CONFIGS = {
    "pinned": {"workers": 1, "threads": 1, "pool": 1, "connections": 1},
    "saturated": {"workers": WORKERS, "threads": THREADS, "pool": THREADS, "connections": 8},
}
HEADLINE = "pinned"  # the configuration the headline keys come from (both are in api_detail)


def _redis_url() -> str:
    return (
        os.environ.get("BENCH_REDIS_URL")
        or os.environ.get("TEST_REDIS_URL")
        or os.environ.get("REDIS_URL")
        or "redis://127.0.0.1:6379/0"
    )


def api_rounds(size) -> tuple[int, float]:
    """(interleaved rounds, seconds per side) of the API stage.

    Many short rounds rather than a few long ones (full: 10 x 1 s, was 5 x 2 s, the same
    time per variant): each figure is a median of per-round ratios, and on a shared host
    whose speed drifts by tens of percent over seconds, more and shorter pairs track the
    drift more closely.
    """
    return max(3, size.rounds + 1), max(1.0, size.load_seconds / 4)


def _servers(db_url: str, cfg: dict, placed: bool = False) -> dict[str, Server]:
    """{variant: server}, one per variant (VARIANTS, and PLACED when `placed`).

    Each variant has a process (and database connections) of its own, so when the
    variants take turns every process sits idle for the same time between its requests;
    the stock endpoints on the tenancy server would keep it warmer than the off server.
    """
    env = {
        "REDIS_URL": _redis_url(),
        "DB_POOL_MAX_SIZE": str(cfg["pool"]),
        # The steady state: pools stay full between rounds (growing one costs a SCRAM
        # login per connection, which would land on whichever variant runs next).
        "DB_POOL_MIN_SIZE": str(cfg["pool"]),
        "DB_POOL_MAX_IDLE": "600",
        "LOG_LEVEL": "WARNING",
        "ACCESS_LOG_LEVEL": "WARNING",
    }
    kw = dict(workers=cfg["workers"], threads=cfg["threads"])
    # The BYPASSRLS role is what the baselines are: the start-up guard would refuse it.
    unguarded = {**env, "TENANT_GUARD_AT_START": "0"}
    servers = {
        "tenancy": Server(db_url, env=env, **kw),
        "off": Server(
            db_url,
            app="benchmarks.wsgi_off:application",
            settings_module="benchmarks.settings_off",
            env=unguarded,
            **kw,
        ),
        "stock": Server(db_url, env=env, **kw),  # the same app; its /stock/ endpoints
    }
    if placed:
        servers[PLACED] = Server(
            db_url,
            app="benchmarks.wsgi_off_placed:application",
            settings_module="benchmarks.settings_off_placed",
            env=unguarded,
            **kw,
        )
    return servers


def _interleaved(runs: dict, rounds: int) -> dict:
    """runs: {variant: callable -> wrk result}; the order rotates every round."""
    names = list(runs)
    results = {v: [] for v in names}
    for r in range(rounds):
        for v in names[r % len(names) :] + names[: r % len(names)]:
            results[v].append(runs[v]())
    return results


def _summary(results: dict) -> dict:
    out = {
        v: {
            "p50_us": median([r["p50"] for r in rs]),
            "p95_us": median([r["p95"] for r in rs]),
            "p99_us": median([r["p99"] for r in rs]),
            "rps": median([r["rps"] for r in rs]),
        }
        for v, rs in results.items()
    }
    if "off" in results:
        out["tenancy_ratio"] = _ratios(results, "tenancy", "off")
        out["tenancy_us_p50"] = median(
            [x["p50"] - y["p50"] for x, y in zip(results["tenancy"], results["off"], strict=True)]
        )
    if "stock" in results:
        out["vs_stock_ratio"] = _ratios(results, "tenancy", "stock")
        out["product_saving_us_p50"] = median(
            [y["p50"] - x["p50"] for x, y in zip(results["off"], results["stock"], strict=True)]
        )
    if PLACED in results:
        out["placed_ratio"] = _ratios(results, "tenancy", PLACED)
        out["placement_ratio"] = _ratios(results, PLACED, "off")
    out["rounds"] = len(next(iter(results.values())))
    return out


def run_api(size, admin_url: str) -> dict:
    db_url = replace_dbname(admin_url, data.dbname())
    rounds, seconds = api_rounds(size)
    per_mode = {}
    for mode in MODES:
        if not mode_available(mode):
            continue
        if mode == "shared":
            tenants = [data.tenant(r) for r in _ranks(size, 50)]
        else:
            from benchmarks.extensions import ensure_mode_tenants

            placed = ensure_mode_tenants(mode, mode_count(size, mode), mode_ranks(size, mode))
            # Only the copies of pooled tenants: the tenancy-off side reads their pooled rows.
            tenants = [t for t in placed if not isinstance(t, str)][: len(mode_ranks(size, mode))]
        per_mode[mode] = (tenants, _api_ready(tenants))

    detail: dict = {}
    limits = None
    only = os.environ.get("BENCH_API_CONFIGS")  # e.g. "saturated": one configuration only
    for config, cfg in CONFIGS.items():
        if only and config not in only.split(","):
            continue
        servers = _servers(db_url, cfg, placed="database" in per_mode)
        with contextlib.ExitStack() as running:
            for server in servers.values():
                running.enter_context(server)
            url = {v: server.url for v, server in servers.items()}
            for mode, (tenants, tokens) in per_mode.items():
                variants = VARIANTS + ((PLACED,) if mode == "database" else ())
                for endpoint, method in (("list", "GET"), ("create", "POST")):
                    targets = {v: _variant_targets(v, tenants, tokens) for v in variants}

                    def run(v, s=seconds, targets=targets, method=method, url=url, c=cfg):
                        return lambda: wrk(url[v], targets[v], method, s, c["connections"])

                    for v in variants:  # warm workers, pools, caches
                        _warm(run(v, 3))
                    if cfg["connections"] == 1:
                        # Pinned: the variants take turns in short blocks (load.turns).
                        sides = {v: (url[v], targets[v]) for v in variants}
                        runs = turns(sides, method, seconds * rounds, rounds)
                    else:
                        runs = _interleaved({v: run(v) for v in variants}, rounds)
                    got = _summary(runs)
                    detail.setdefault(config, {}).setdefault(mode, {})[endpoint] = got
                    log(
                        f"api {config} {mode} {endpoint}: tenancy/off p50 x{got['tenancy_ratio']['p50']:.3f} "
                        f"p95 x{got['tenancy_ratio']['p95']:.3f}, vs stock p50 x{got['vs_stock_ratio']['p50']:.3f} "
                        f"(p50 {got['tenancy']['p50_us']:.0f} / {got['off']['p50_us']:.0f} / "
                        f"{got['stock']['p50_us']:.0f} µs)"
                        + (
                            f"; same placement p50 x{got['placed_ratio']['p50']:.3f}, "
                            f"placement x{got['placement_ratio']['p50']:.3f}"
                            if PLACED in runs
                            else ""
                        )
                    )
                _cleanup_created(tenants)
            if config == HEADLINE and "shared" in per_mode:
                limits = create_limits(url["tenancy"], size, cfg, rounds, seconds)

    head = detail.get(HEADLINE) or next(iter(detail.values()), {})

    def shape(fn):
        return {m: {e: fn(v) for e, v in ends.items()} for m, ends in head.items()}

    def placed(ratio: str, q: str):
        """{mode: {endpoint: r}} for the modes measured against PLACED (database), or None."""
        out = {
            m: {e: v[ratio][q] for e, v in ends.items()}
            for m, ends in head.items()
            if all(ratio in v for v in ends.values())
        }
        return out or None

    return {
        "api_tenancy_p50_ratio": shape(lambda v: v["tenancy_ratio"]["p50"]),
        "api_tenancy_p95_ratio": shape(lambda v: v["tenancy_ratio"]["p95"]),
        "api_vs_stock_p50_ratio": shape(lambda v: v["vs_stock_ratio"]["p50"]),
        # Database mode against the same placement with tenancy off (PLACED), and what the
        # placement costs against every tenant pooled: beside the headline, not instead.
        "api_tenancy_same_placement_p50_ratio": placed("placed_ratio", "p50"),
        "api_tenancy_same_placement_p95_ratio": placed("placed_ratio", "p95"),
        "api_placement_p50_ratio": placed("placement_ratio", "p50"),
        "create_limits_ratio": limits["p50"] if limits else None,
        "create_limits_detail": limits,
        # The worse endpoint per mode, in the earlier keys' shape.
        "api_p50_ratio": {
            m: max(v["tenancy_ratio"]["p50"] for v in e.values()) for m, e in head.items()
        },
        "api_p95_ratio": {
            m: max(v["tenancy_ratio"]["p95"] for v in e.values()) for m, e in head.items()
        },
        "api_detail": detail,
        "api_setup": {
            "path": API_PATH,
            "rounds": rounds,
            "seconds_per_side": seconds,
            "configs": CONFIGS,
            "headline_config": HEADLINE,
            "interleaving": {
                "pinned": "in turns (load.turns: one keep-alive connection per variant; "
                "each turn every variant sends a block of load.TURN_BLOCK requests for the "
                "same targets, the order rotating); ratios are medians over `rounds` "
                "consecutive slices",
                "saturated": "run by run (wrk, `rounds` rounds of `seconds_per_side`, the "
                "order rotating); ratios are medians of per-round ratios",
            },
            "redis": True,
            "variants": {
                "tenancy": "the product (tenants.db, app role, RLS, placements)",
                "off": "the same product code on the stock backend as the BYPASSRLS role, every tenant pooled (benchmarks.settings_off)",
                "stock": "the same endpoints written the stock Django/DRF way (benchmarks.stock)",
                PLACED: "database mode only: the off variant with each tenant read from its "
                "own database, as placed, through a stock connection as the BYPASSRLS role "
                "(benchmarks.wsgi_off_placed)",
            },
        },
    }
