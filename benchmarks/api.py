"""API latency and throughput under bounded load, and the noisy-neighbour figure.

gunicorn (2 gthread workers x 4 threads, the recommended server; the bench
settings) on loopback and `wrk` (1
thread, 4 connections, fixed duration per run). Each round runs the tenant
endpoint and the plain DRF baseline back to back, alternating which goes
first; both pick their tenant at random (same seed, same tenants) per
request. Ratios are medians of per-round ratios of wrk's own percentiles.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import psycopg
from django.conf import settings
from django.db import DatabaseError, connection

from benchmarks import data
from benchmarks.common import interleave, log, median, replace_dbname
from benchmarks.extensions import API_CREATE_PATH, API_LIST_PATH, MODES, mode_available
from tenants.context import tenant_scope
from tenants.database_config import admin_conninfo
from tenants.fair_share import is_busy_error

ROOT = Path(__file__).resolve().parent.parent
WORKERS = 2
THREADS = 4  # as gunicorn.conf.py, the deployment default
WRK_CONNECTIONS = 4
# Headers the tenant side needs (e.g. an API token once /api/v1/ is used).
AUTH_HEADERS: dict[str, str] = {}
CREATED_NAME = "bench-created"
NOISY_STREAMS = 2  # concurrent heavy queries of the large tenant


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, database_url: str):
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = ROOT / "artifacts" / f"bench-server-{self.port}.log"
        self.env = dict(
            os.environ,
            DATABASE_URL=database_url,
            DJANGO_SETTINGS_MODULE="benchmarks.settings",
            PYTHONUNBUFFERED="1",
        )

    def __enter__(self):
        self.log.parent.mkdir(exist_ok=True)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "saas.wsgi:application", "-b",
             f"127.0.0.1:{self.port}", "-w", str(WORKERS), "--worker-class", "gthread",
             "--threads", str(THREADS), "--timeout", "60"],
            cwd=ROOT, env=self.env, stdout=self.log.open("w"), stderr=subprocess.STDOUT,
        )  # fmt: skip
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {self.log.read_text()[-2000:]}")
            try:
                req = urllib.request.Request(self.url + "/healthz", headers={"Host": "localhost"})
                with urllib.request.urlopen(req, timeout=2) as r:
                    if r.status == 200:
                        return self
            except OSError:
                time.sleep(0.2)
        self.__exit__()
        raise RuntimeError("server did not start")

    def __exit__(self, *exc):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()


_LUA = """
local targets = %(targets)s
local method = "%(method)s"
local body = %(body)s
local extra = %(headers)s
math.randomseed(42)
request = function()
  local t = targets[math.random(#targets)]
  local headers = {["Host"] = t[1], ["Content-Type"] = "application/json", ["Accept"] = "application/json"}
  for k, v in pairs(extra) do headers[k] = v end
  if t[3] ~= "" then headers["Authorization"] = t[3] end
  return wrk.format(method, t[2], headers, body)
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCHJSON {"p50": %%d, "p95": %%d, "p99": %%d, "requests": %%d, "duration_us": %%d, "errors": %%d}\\n',
    latency:percentile(50), latency:percentile(95), latency:percentile(99),
    summary.requests, summary.duration, e.status + e.connect + e.read + e.write + e.timeout))
end
"""


def _lua_str(s: str) -> str:
    return json.dumps(s)  # a JSON string is a valid Lua string literal for our ASCII values


def wrk(url: str, targets: list[tuple[str, str]], method: str, seconds: float) -> dict:
    exe = shutil.which("wrk")
    if exe is None:
        raise RuntimeError("wrk is not installed (make system-deps)")
    body = _lua_str(json.dumps({"name": CREATED_NAME})) if method == "POST" else "nil"
    script = _LUA % {
        "targets": "{"
        + ", ".join(f"{{{_lua_str(h)}, {_lua_str(p)}, {_lua_str(a)}}}" for h, p, a in targets)
        + "}",
        "method": method,
        "body": body,
        "headers": "{"
        + ", ".join(f"[{_lua_str(k)}] = {_lua_str(v)}" for k, v in AUTH_HEADERS.items())
        + "}",
    }
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(script)
    try:
        out = subprocess.run(
            [exe, "-t1", f"-c{WRK_CONNECTIONS}", f"-d{max(1, round(seconds))}s", "--timeout", "10s", "-s", f.name, url],
            capture_output=True, text=True, timeout=seconds + 60, check=True,
        ).stdout  # fmt: skip
    finally:
        os.unlink(f.name)
    line = next(ln for ln in out.splitlines() if ln.startswith("BENCHJSON "))
    r = json.loads(line.removeprefix("BENCHJSON "))
    if r["errors"] or not r["requests"]:
        raise RuntimeError(
            f"wrk saw {r['errors']} errors in {r['requests']} requests: {out[-1500:]}"
        )
    r["rps"] = r["requests"] / (r["duration_us"] / 1e6)
    return r


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
    return tokens


def _targets(tenants, tenant_side: bool, path: str, tokens=None) -> list[tuple[str, str, str]]:
    if tenant_side:
        return [(f"{t.subdomain}.localhost", path, (tokens or {}).get(t.pk, "")) for t in tenants]
    return [("localhost", f"/plain/{t.pk}/projects/", "") for t in tenants]


def _compare(server, tenants, method: str, rounds: int, seconds: float, tokens=None) -> dict:
    path = API_LIST_PATH if method == "GET" else API_CREATE_PATH
    tenant_t = _targets(tenants, True, path, tokens)
    plain_t = _targets(tenants, False, path)
    wrk(server.url, tenant_t, method, 1)  # warm both workers' connections and caches
    wrk(server.url, plain_t, method, 1)
    pairs = interleave(
        rounds,
        lambda: wrk(server.url, tenant_t, method, seconds),
        lambda: wrk(server.url, plain_t, method, seconds),
    )
    out = {}
    for q in ("p50", "p95", "p99"):
        out[f"{q}_ratio"] = median([a[q] / b[q] for a, b in pairs])
        out[f"{q}_ms_tenant"] = median([a[q] / 1000 for a, _ in pairs])
        out[f"{q}_ms_plain"] = median([b[q] / 1000 for _, b in pairs])
    out["rps_tenant"] = median([a["rps"] for a, _ in pairs])
    out["rps_plain"] = median([b["rps"] for _, b in pairs])
    out["throughput_ratio"] = median([a["rps"] / b["rps"] for a, b in pairs])
    out["rounds"] = rounds
    return out


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


def run_api(size, admin_url: str) -> dict:
    p50, p95, detail = {}, {}, {}
    db_url = replace_dbname(admin_url, data.dbname())
    shared = [data.tenant(r) for r in _ranks(size, 50)]
    for mode in MODES:
        if not mode_available(mode):
            p50[mode] = p95[mode] = None
            continue
        if mode == "shared":
            tenants = shared
        else:
            from benchmarks.extensions import ensure_mode_tenants

            placed = ensure_mode_tenants(mode, mode_count(size, mode), mode_ranks(size, mode))
            tenants = [t for t in placed if not isinstance(t, str)]
        tokens = _api_ready(tenants)
        with Server(db_url) as server:
            per = {}
            for endpoint, method in (("list", "GET"), ("create", "POST")):
                per[endpoint] = _compare(
                    server, tenants, method, size.rounds, size.load_seconds, tokens
                )
                log(
                    f"api {mode} {endpoint}: p50 x{per[endpoint]['p50_ratio']:.3f}, "
                    f"p95 x{per[endpoint]['p95_ratio']:.3f} "
                    f"({per[endpoint]['p95_ms_tenant']:.1f} vs {per[endpoint]['p95_ms_plain']:.1f} ms), "
                    f"{per[endpoint]['rps_tenant']:.0f} vs {per[endpoint]['rps_plain']:.0f} req/s"
                )
        _cleanup_created(tenants)
        detail[mode] = per
        # The worse endpoint is the mode's figure.
        p50[mode] = max(v["p50_ratio"] for v in per.values())
        p95[mode] = max(v["p95_ratio"] for v in per.values())
    return {"api_p50_ratio": p50, "api_p95_ratio": p95, "api_detail": detail}


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


HEAVY_SQL = (
    # A large tenant's expensive report: a self-join over its tasks. RLS scopes both sides;
    # the plan's statement_timeout (sent with the context) bounds each run.
    "SELECT /* bench-heavy */ a.status, count(*) FROM projects_task a JOIN projects_task b "
    "ON a.status = b.status AND a.id <> b.id GROUP BY a.status"
)


class Noise:
    def __init__(self, tenant, streams: int):
        self.tenant, self.streams = tenant, streams
        self.stop = threading.Event()
        self.runs = self.timeouts = self.refused = 0

    def _loop(self):
        try:
            with tenant_scope(self.tenant):
                while not self.stop.is_set():
                    try:
                        with connection.cursor() as cur:
                            cur.execute(HEAVY_SQL)
                            cur.fetchall()
                        self.runs += 1
                    except DatabaseError as exc:
                        if is_busy_error(exc):  # at its share of the server: wait, retry
                            self.refused += 1
                        else:  # statement timeout: the plan's cap worked
                            self.timeouts += 1
        finally:
            connection.close()

    def __enter__(self):
        self.stop.clear()
        self.threads = [
            threading.Thread(target=self._loop, daemon=True) for _ in range(self.streams)
        ]
        for t in self.threads:
            t.start()
        time.sleep(0.3)  # let the heavy queries get going
        return self

    def __exit__(self, *exc):
        self.stop.set()
        with psycopg.connect(
            admin_conninfo(settings.DATABASE_URL, data.dbname()), autocommit=True
        ) as c:
            c.execute(
                "SELECT pg_cancel_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND query LIKE '%%bench-heavy%%' "
                "AND pid <> pg_backend_pid()"
            )
        for t in self.threads:
            t.join(30)


def run_noisy(size, admin_url: str) -> dict:
    db_url = replace_dbname(admin_url, data.dbname())
    small = [data.tenant(r) for r in _ranks(size, 30, lo=size.tenants // 2)]
    big = data.tenant(1)
    targets = _targets(small, True, API_LIST_PATH, _api_ready(small))
    noise = Noise(big, NOISY_STREAMS)

    with Server(db_url) as server:
        wrk(server.url, targets, "GET", 1)

        def noisy():
            with noise:
                return wrk(server.url, targets, "GET", size.load_seconds)

        pairs = interleave(
            size.rounds, noisy, lambda: wrk(server.url, targets, "GET", size.load_seconds)
        )
    ratio = median([a["p95"] / b["p95"] for a, b in pairs])
    out = {
        "noisy_neighbour_p95_ratio": ratio,
        "noisy_neighbour_detail": {
            "p95_ms_noisy": median([a["p95"] / 1000 for a, _ in pairs]),
            "p95_ms_quiet": median([b["p95"] / 1000 for _, b in pairs]),
            "p50_ratio": median([a["p50"] / b["p50"] for a, b in pairs]),
            "rps_noisy": median([a["rps"] for a, _ in pairs]),
            "rps_quiet": median([b["rps"] for _, b in pairs]),
            "heavy_streams": NOISY_STREAMS,
            "heavy_queries_completed": noise.runs,
            "heavy_queries_timed_out": noise.timeouts,
            "heavy_transactions_refused_busy": noise.refused,
            "large_tenant_statement_timeout_ms": big.plan.statement_timeout_ms,
            "rounds": len(pairs),
        },
    }
    log(
        f"noisy: p95 x{ratio:.2f} ({out['noisy_neighbour_detail']['p95_ms_noisy']:.1f} vs {out['noisy_neighbour_detail']['p95_ms_quiet']:.1f} ms)"
    )
    return out
