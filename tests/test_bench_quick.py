"""The benchmark's quick mode runs end to end, so `make bench` cannot rot.

It asserts that every key the issue names is in the JSON and that a null
value is explained as pending, plus a few sanity facts about the figures
(present, positive, ratios finite). It never asserts that a target is met:
targets are what the benchmark reports, not what a test enforces.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

from benchmarks.__main__ import KEYS
from tests.shell import drop_database_and_placements

ROOT = Path(__file__).resolve().parent.parent

pytestmark = [pytest.mark.bench, pytest.mark.slow]


@pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk not installed (make system-deps)")
def test_quick_mode_writes_every_key(tmp_path):
    env = dict(os.environ, DATABASE_URL=settings.DATABASE_URL, BENCH_SILENT="1")
    env.pop("DJANGO_SETTINGS_MODULE", None)
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "benchmarks", "--quick", "--results-dir", str(tmp_path)],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
    finally:
        # `make test` leaves nothing behind: the quick data set and every tenant
        # database it placed (a full `make bench` keeps its own, larger one).
        for name in ("bench_quick", "bench_djt_quick"):
            drop_database_and_placements(name)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]
    results = json.loads((tmp_path / "latest.json").read_text())
    assert (tmp_path / "latest.png").stat().st_size > 10_000
    assert "| `rls_overhead_ratio` |" in proc.stdout

    missing = [k for k in KEYS if k not in results]
    assert missing == []
    assert results["errors"] == {}
    pending = results["pending"]

    # Figures the current code can measure are numbers, never null.
    for key in (
        "rls_overhead_ratio",
        "context_overhead_us",
        "context_round_trips",
        "noisy_neighbour_p95_ratio",
        "provision_ms_django_tenants",
        "migrate_noop_s_django_tenants",
        "migrate_one_s_django_tenants",
        "sla_recording_us",
    ):
        assert isinstance(results[key], int | float), (key, results[key])
    for key in ("api_p50_ratio", "api_p95_ratio", "provision_ms"):
        assert set(results[key]) == {"shared", "schema", "database"}
        assert results[key]["shared"] > 0
        for mode in ("schema", "database"):
            if results[key][mode] is None:
                assert pending[f"{mode} mode"].startswith("pending")
    for key in ("migrate_noop_s", "migrate_one_s"):
        if results[key] is None:
            assert pending[key].startswith("pending")

    moves = results["online_move_write_pause_ms"]
    assert set(moves) == {"small", "large"}
    assert all(0 < v["p50"] <= v["max"] for v in moves.values()), moves
    # Fleet: two extra clusters started by the stage, three servers serving the same tenants.
    assert 0 < results["multi_server_api_p50_ratio"] < 20
    fleet = results["migrate_tenants_3_servers_s"]
    assert set(fleet) == {"noop", "one"} and all(v > 0 for v in fleet.values()), fleet
    detail = results["fleet_detail"]
    assert len(detail["api"]["sampled_tenants_per_server"]) == 3
    assert detail["migrate"]["placements_migrated"] >= 3 * 3 + 2  # every schema, both pools
    assert 0.2 < results["rls_overhead_ratio"] < 20
    assert results["provision_ms"]["shared"] > 0
    # The round-trip count comes from the wire: a request costs at least one query.
    trips = results["context_round_trips_detail"]
    assert trips["tenant_path_per_request"] >= 1 and trips["plain_path_per_request"] >= 1
    assert results["meta"]["dataset"]["shared_tenants"] == 300
    explain = (tmp_path / "explain.md").read_text()
    assert explain.count("### rls_filter") == 12  # 4 queries x 3 tenant sizes
    # The policy's function, no sub-plan. The managers' filter is the same call on a
    # one-table query (one index condition: no one-time check); a join carries the literal
    # id, and the call is checked once beside it.
    blocks = [b for b in explain.split("### ") if b.startswith("rls_filter\n")]
    single = [b for b in blocks if " JOIN " not in b]
    joined = [b for b in blocks if " JOIN " in b]
    assert len(single) == 9 and len(joined) == 3
    assert all("= (public.saas_current_tenant())" in b and "One-Time" not in b for b in single)
    assert all("One-Time Filter: (saas_current_tenant() = " in b for b in joined)
    assert "InitPlan" not in explain
    # The API stage: the real endpoints against both baselines, list and create per mode.
    for key in ("api_tenancy_p50_ratio", "api_tenancy_p95_ratio", "api_vs_stock_p50_ratio"):
        assert set(results[key]) == {"shared", "schema", "database"}, key
        for per_endpoint in results[key].values():
            assert set(per_endpoint) == {"list", "create"}
            assert all(0.1 < v < 20 for v in per_endpoint.values())
    # Database mode beside the headline: tenancy off in the same placement (the tenant's
    # own database through a stock connection), and what that placement costs.
    for key in ("api_tenancy_same_placement_p50_ratio", "api_placement_p50_ratio"):
        assert set(results[key]) == {"database"}, key
        assert set(results[key]["database"]) == {"list", "create"}, key
        assert all(0.1 < v < 20 for v in results[key]["database"].values()), key
    assert 0.1 < results["create_limits_ratio"] < 20
    assert set(results["api_detail"]) == {"pinned", "saturated"}
    assert results["api_breakdown_us"]["host → tenant (resolver cache)"] > 0
