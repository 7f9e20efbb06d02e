"""In-process aggregation of request measurements, flushed in batches to SlaRollup.

The request path only adds to a dict under a lock (no I/O, no database): per
(tenant, route group, minute) a request count, an error count, the duration sum
and a latency histogram. A daemon thread per process writes the accumulated
rows every FLUSH_SECONDS in one statement (upsert: rows of several processes
for the same minute add up). A flush that fails keeps its rows for the next
attempt, up to MAX_PENDING_ROWS, so a database outage costs figures, never
memory or requests.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time
from bisect import bisect_left
from datetime import UTC, datetime

from django.conf import settings

from observability.models import LATENCY_BOUNDS_MS

logger = logging.getLogger("observability.recorder")

N_BUCKETS = len(LATENCY_BOUNDS_MS) + 1
# count, errors, duration sum, then the buckets
_COUNT, _ERRORS, _SUM, _FIRST_BUCKET = 0, 1, 2, 3
MAX_PENDING_ROWS = 200_000
ROWS_PER_STATEMENT = 1000


class Recorder:
    def __init__(self, flush_seconds: float | None = None):
        self.flush_seconds = flush_seconds
        self._lock = threading.Lock()
        self._rows: dict[tuple[str, str, int], list] = {}
        self._pid = None
        self._wake = threading.Event()
        self._also: list = []

    def record(self, tenant_id: str, route_group: str, status: int, duration_ms: float) -> None:
        key = (tenant_id, route_group, int(time.time()) // 60)
        bucket = _FIRST_BUCKET + bisect_left(LATENCY_BOUNDS_MS, duration_ms)
        with self._lock:
            row = self._rows.get(key)
            if row is None:
                row = self._rows[key] = [0, 0, 0.0] + [0] * N_BUCKETS
            row[_COUNT] += 1
            if status >= 500:
                row[_ERRORS] += 1
            row[_SUM] += duration_ms
            row[bucket] += 1
        if self._pid != os.getpid():
            self._start()

    def ensure_writer(self) -> None:
        """Start this process's flush thread if it is not running (cheap when it is)."""
        if self._pid != os.getpid():
            self._start()

    def drain(self) -> dict:
        with self._lock:
            rows, self._rows = self._rows, {}
        return rows

    def merge_back(self, rows: dict) -> None:
        """Return rows whose flush failed, so the next flush retries them."""
        with self._lock:
            for key, row in rows.items():
                mine = self._rows.get(key)
                if mine is None:
                    if len(self._rows) < MAX_PENDING_ROWS:
                        self._rows[key] = row
                else:
                    for i, value in enumerate(row):
                        mine[i] += value

    def flush(self) -> int:
        """Write what accumulated; returns the number of rows written."""
        rows = self.drain()
        if not rows:
            return 0
        try:
            write_rows(rows)
        except Exception:
            logger.exception("SLA flush failed; %d rows kept for the next attempt", len(rows))
            self.merge_back(rows)
            return 0
        return len(rows)

    def flush_all(self) -> None:
        """Request figures and what other recorders noted beside them (also_flush)."""
        self.flush()
        for flush in self._also:
            flush()

    def also_flush(self, flush) -> None:
        """Write `flush`'s batch with ours (slow statements), in the same thread and timer."""
        if flush not in self._also:
            self._also.append(flush)

    def _start(self) -> None:
        # Lazily, in the process that records (gunicorn forks workers after import).
        with self._lock:
            if self._pid == os.getpid():
                return
            self._pid = os.getpid()
        if not self._interval():
            return  # 0: no background writer (the test process; callers flush() themselves)
        thread = threading.Thread(target=self._run, name="sla-flush", daemon=True)
        thread.start()
        atexit.register(self.flush_all)

    def _interval(self) -> float:
        return settings.SLA_FLUSH_SECONDS if self.flush_seconds is None else self.flush_seconds

    def _run(self) -> None:
        from django.db import connections

        interval = self._interval()
        while True:
            self._wake.wait(interval)
            self._wake.clear()
            self.flush_all()
            # This thread's connections are never closed by a request cycle: do it here.
            for conn in connections.all(initialized_only=True):
                conn.close_if_unusable_or_obsolete()


def write_rows(rows: dict) -> None:
    """Upsert minute rows {(tenant_id, group, minute): [count, errors, sum, *buckets]}."""
    from django.db import connections

    from tenants.context import dangerously_unscoped
    from tenants.routers import data_alias

    items = list(rows.items())
    # One batch spans tenants by nature: the operator role writes it (RLS still
    # guards every tenant's reads of the table).
    with dangerously_unscoped("SLA flush: batched request measurements of this process"):
        alias = data_alias()
        with connections[alias].cursor() as cur:
            for offset in range(0, len(items), ROWS_PER_STATEMENT):
                chunk = items[offset : offset + ROWS_PER_STATEMENT]
                params: list = []
                for (tenant_id, group, minute), row in chunk:
                    start = datetime.fromtimestamp(minute * 60, tz=UTC)
                    params += [tenant_id, start, group, row[0], row[1], row[2], row[3:]]
                values = ", ".join(
                    ["(%s::uuid, 'm', %s, %s, %s, %s, %s, %s::bigint[])"] * len(chunk)
                )
                cur.execute(UPSERT_SQL.format(values=values), params)


UPSERT_SQL = """
INSERT INTO observability_slarollup
    (tenant_id, period, start, route_group, count, errors, duration_ms_sum, buckets)
VALUES {values}
ON CONFLICT (tenant_id, period, start, route_group) DO UPDATE SET
    count = observability_slarollup.count + EXCLUDED.count,
    errors = observability_slarollup.errors + EXCLUDED.errors,
    duration_ms_sum = observability_slarollup.duration_ms_sum + EXCLUDED.duration_ms_sum,
    buckets = ARRAY(
        SELECT a + b
        FROM unnest(observability_slarollup.buckets, EXCLUDED.buckets) WITH ORDINALITY AS u(a, b, i)
        ORDER BY i
    )
"""

recorder = Recorder()
