"""The noisy-neighbour figure: small tenants' API p95 while a large tenant runs heavy reports.

Two streams of an expensive self-join in the largest tenant (bounded by its plan's
statement timeout and its share of the server) run beside wrk against 30 small
tenants; each round pairs a noisy run with a quiet one.
"""

from __future__ import annotations

import threading
import time

import psycopg
from django.conf import settings
from django.db import DatabaseError, connection

from benchmarks import data
from benchmarks.api_common import _api_ready, _ranks, _targets
from benchmarks.common import interleave, log, median, replace_dbname
from benchmarks.extensions import API_LIST_PATH
from benchmarks.load import Server, wrk
from tenants.context import tenant_scope
from tenants.database_config import admin_conninfo
from tenants.fair_share import is_busy_error

NOISY_STREAMS = 2  # concurrent heavy queries of the large tenant


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
