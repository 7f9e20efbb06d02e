"""`python -m benchmarks [--quick] [--only NAME ...]`: one bounded run, table + JSON + chart."""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
import traceback
from pathlib import Path

from benchmarks.common import FULL, PENDING, QUICK, log, replace_dbname

HERE = Path(__file__).resolve().parent
STAGES = ("rls", "context", "api", "noisy", "provision", "djt", "migrate", "sla", "move", "fleet")

KEYS = (
    "rls_overhead_ratio",
    "rls_with_filter_overhead_ratio",
    "context_overhead_us",
    "context_round_trips",
    "api_tenancy_p50_ratio",
    "api_tenancy_p95_ratio",
    "api_vs_stock_p50_ratio",
    "create_limits_ratio",
    "api_tenancy_same_placement_p50_ratio",
    "api_tenancy_same_placement_p95_ratio",
    "api_placement_p50_ratio",
    "api_p50_ratio",
    "api_p95_ratio",
    "provision_ms",
    "provision_ms_django_tenants",
    "migrate_noop_s",
    "migrate_one_s",
    "migrate_noop_s_django_tenants",
    "migrate_one_s_django_tenants",
    "noisy_neighbour_p95_ratio",
    "sla_recording_us",
    "online_move_write_pause_ms",
    "multi_server_api_p50_ratio",
    "migrate_tenants_3_servers_s",
)


def _host_loop_ms() -> float:
    """Best of 3 timings of a fixed pure-Python loop (3 million additions), in ms."""
    best = float("inf")
    for _ in range(3):
        t, total = time.perf_counter(), 0
        for i in range(3_000_000):
            total += i
        best = min(best, (time.perf_counter() - t) * 1000)
    return round(best, 1)


def _setup(size) -> str:
    from saas import embedded

    admin_url = os.environ.get("DATABASE_URL") or embedded.url() or embedded.ensure_running()
    os.environ["BENCH_ADMIN_URL"] = admin_url
    # BENCH_DB_NAME lets two checkouts on one server measure without sharing a data set.
    name = os.environ.get("BENCH_DB_NAME") or f"bench_{size.name}"
    os.environ["DATABASE_URL"] = replace_dbname(admin_url, name)
    os.environ["DJANGO_SETTINGS_MODULE"] = "benchmarks.settings"
    import django

    django.setup()
    return admin_url


def _machine() -> dict:
    from django.db import connections

    with connections["owner"].cursor() as cur:
        cur.execute("SHOW server_version")
        pg = cur.fetchone()[0]
    mem_kb = 0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_kb = int(line.split()[1])
    except OSError:
        pass
    return {
        "nproc": os.cpu_count(),
        "memory_gb": round(mem_kb / 1024 / 1024, 1),
        "postgres": pg,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu": _cpu_model(),
    }


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small data set, ~1 minute smoke run")
    parser.add_argument("--only", action="append", choices=STAGES, help="run only these stages")
    parser.add_argument("--results-dir", type=Path, help="default: benchmarks/results[/quick]")
    args = parser.parse_args(argv)
    size = QUICK if args.quick else FULL
    results_dir = args.results_dir or (HERE / "results" / ("quick" if args.quick else ""))
    results_dir.mkdir(parents=True, exist_ok=True)
    stages = args.only or STAGES
    started = time.time()
    load_start = os.getloadavg()
    loop_start = _host_loop_ms()

    admin_url = _setup(size)
    from benchmarks import (
        api,
        data,
        djt_runner,
        extensions,
        fleet,
        noisy,
        online_move,
        provision,
        report,
        request_path,
        rls,
        sla,
    )

    results: dict = {key: None for key in KEYS}
    notes: dict = {}
    errors: dict = {}
    dataset = data.ensure(size)
    # As after any deploy: bring every tenant schema/database to this code's migrations
    # (placements made by an earlier run of older code are otherwise refused service).
    from tenants.backends.fleet import migrate_tenants

    lagging = [o for o in migrate_tenants(parallel=2, pooled=False) if not o.ok]
    if lagging:
        log(f"{len(lagging)} bench placements could not be migrated: {lagging[:3]}")

    def stage(name, fn):
        if name not in stages:
            return
        t0 = time.perf_counter()
        log(f"stage {name} …")
        try:
            results.update(fn())
        except Exception as exc:  # one broken stage must not hide the others' figures
            errors[name] = f"{type(exc).__name__}: {exc}"
            traceback.print_exc()
        log(f"stage {name} done in {time.perf_counter() - t0:.1f}s")

    stage("rls", lambda: rls.run(size, results_dir))
    stage("context", lambda: request_path.run(size))
    stage("api", lambda: api.run_api(size, admin_url))
    stage("noisy", lambda: noisy.run_noisy(size, admin_url))
    stage("provision", lambda: provision.run(size))
    stage("djt", lambda: djt_runner.run(size, admin_url))

    def ours_migrate():
        figures = extensions.migrate_tenants_seconds(
            size.djt_schemas, api.mode_ranks(size, "schema")
        )
        return {
            "migrate_noop_s": figures["noop_s"],
            "migrate_one_s": figures["one_s"],
            "migrate_detail": figures,
        }

    stage("migrate", ours_migrate)
    stage("sla", lambda: sla.run(size))
    stage("move", lambda: online_move.run(size))
    stage("fleet", lambda: fleet.run(size, admin_url))

    # Keys whose code is not written yet: null with a note, never a made-up number.
    for mode in extensions.MODES:
        if not extensions.mode_available(mode):
            notes[f"{mode} mode"] = (
                f"{PENDING}: no '{mode}' isolation backend registered yet (lead's isolation-backends issue)"
            )
    if results["migrate_noop_s"] is None and "migrate" in stages:
        notes["migrate_noop_s"] = notes["migrate_one_s"] = (
            f"{PENDING}: `migrate_tenants` is not written yet (lead); extension point "
            "benchmarks.extensions.migrate_tenants_seconds"
        )
    if "fleet_unavailable" in results:
        notes["multi_server_api_p50_ratio"] = notes["migrate_tenants_3_servers_s"] = (
            f"not measured: {results.pop('fleet_unavailable')} to start the two extra servers"
        )
    skipped = [name for name in STAGES if name not in stages]
    carried = report.carry_over(results, results_dir / "latest.json", skipped)
    for key in KEYS:
        if results[key] is None and key not in notes and report.STAGE_OF.get(key) in stages:
            notes.setdefault(key, "not measured in this run (see errors)")

    results["pending"] = notes
    results["skipped_stages"] = skipped
    results["carried_from_earlier_run"] = carried
    results["errors"] = errors
    results["meta"] = {
        "size": size.name,
        "quick": args.quick,
        "stages": list(stages),
        "dataset": dataset,
        "schemas": size.djt_schemas,
        "rounds": size.rounds,
        "load_seconds_per_side": size.load_seconds,
        "machine": _machine(),
        "git": subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=HERE
        ).stdout.strip(),
        "duration_s": round(time.time() - started, 1),
        # The machine is shared: the load says how noisy the absolute figures are.
        "loadavg_1_5_15_start": [round(x, 2) for x in load_start],
        "loadavg_1_5_15_end": [round(x, 2) for x in os.getloadavg()],
        # And how fast the host ran: a shared VM's speed drifts with its neighbours, which
        # the load average of this machine does not show (docs/benchmarks.md).
        "host_loop_ms_start": loop_start,
        "host_loop_ms_end": _host_loop_ms(),
        "finished_at": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }
    report.write(results, results_dir)
    print()
    print(report.table(results))
    print(f"\nwrote {results_dir / 'latest.json'} and {results_dir / 'latest.png'}")
    if errors:
        print(f"errors: {errors}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
