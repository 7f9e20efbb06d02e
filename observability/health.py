"""Liveness and readiness probes, served on every host kind.

`/healthz` answers from the process alone (no database): a supervisor restarts
a process that stops answering it. `/readyz` checks every dependency the
process needs to serve traffic, each with a short timeout and all at once, so
the probe itself never hangs longer than about READY_TIMEOUT seconds; a load
balancer stops routing to a process that reports 503. Only the default database fails
it: Redis and the broker being down, or a registered tenant-database server, make the
answer "degraded" (200), because the process still serves (docs/operations.md).
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import time
from concurrent.futures import ThreadPoolExecutor, wait

import psycopg
from django.conf import settings
from django.db import connections
from django.http import JsonResponse
from psycopg import pq

# Per dependency; the database servers are pinged, not logged into (pg_isready).
READY_TIMEOUT = 1.0
_pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="readyz")
# Report keys of the registered tenant-database servers: they degrade, never fail, readiness.
SERVER = "database_server:"
# The one dependency without which the process cannot serve: the registry, sessions and (for
# the main pool's tenants) the rows are there. Everything else degrades readiness: with Redis
# and the broker down pages and the API keep serving (fail-soft cache, outbox), and a 503
# would take every process out of the load balancer at once — the outage the outbox avoids.
REQUIRED = ("database:default",)
log = logging.getLogger(__name__)
# {dependency: ok} as last logged by this process: a change is logged once, not every probe.
_last_state: dict[str, bool] = {}


def healthz(request):
    return JsonResponse({"status": "ok"})


def _check_default_database() -> None:
    connection = connections["default"]
    try:
        with connection.cursor() as cur:
            cur.execute("SELECT 1")
    except Exception:
        # A broken persistent connection must not be reused by the next probe.
        connection.close()
        raise


def _check_redis(url: str) -> None:
    import redis

    client = redis.Redis.from_url(
        url, socket_connect_timeout=READY_TIMEOUT, socket_timeout=READY_TIMEOUT
    )
    try:
        client.ping()
    finally:
        client.close()


def _check_broker() -> None:
    # The process's Celery app (the project's, loaded with the project package).
    from celery import current_app as app

    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=READY_TIMEOUT)


def _check_database_server(url: str) -> None:
    conninfo = psycopg.conninfo.make_conninfo(url, connect_timeout=max(1, int(READY_TIMEOUT)))
    result = pq.PGconn.ping(conninfo.encode())
    if result != pq.Ping.OK:
        raise ConnectionError(pq.Ping(result).name.lower().replace("_", " "))


def _database_servers() -> list[tuple[str, str]]:
    from tenants.models import DatabaseServer

    # The address (no login): a ping needs none, and the app role may not read one.
    return list(DatabaseServer.objects.filter(is_active=True).values_list("name", "address"))


def readiness() -> tuple[bool, dict]:
    """(ready, {dependency: {"ok": bool, "ms": float, "error"?: str}}).

    Ready means the process can serve: the default database (REQUIRED). Redis, the
    broker and the registered tenant-database servers are in the report but not in the
    verdict: without Redis and the broker the process keeps serving (the cache fails
    soft, accepted work waits in the outbox, jobs answer 503 queue_unavailable), and a
    server that is down affects only the tenants placed there. Taking every process out
    of the load balancer for either would take down every tenant.
    """
    checks: dict[str, object] = {}
    if settings.REDIS_URL:
        checks["redis"] = lambda: _check_redis(settings.REDIS_URL)
        checks["broker"] = _check_broker
    futures = {name: _pool.submit(_timed, fn) for name, fn in checks.items()}
    report = {"database:default": _timed(_check_default_database)}
    if report["database:default"]["ok"]:
        # The registry lives in the default database: servers are known only when it is up.
        try:
            servers = _database_servers()
        except Exception as exc:
            report["database:default"] = {"ok": False, "error": _describe(exc)}
            servers = []
        for name, url in servers:
            futures[f"{SERVER}{name}"] = _pool.submit(
                _timed, lambda url=url: _check_database_server(url)
            )
    wait(futures.values(), timeout=READY_TIMEOUT * 3)
    for name, future in futures.items():
        report[name] = future.result() if future.done() else {"ok": False, "error": "timed out"}
    ready = all(report[name]["ok"] for name in REQUIRED)
    return ready, report


def _timed(fn) -> dict:
    started = time.perf_counter()
    try:
        fn()
    except Exception as exc:
        return {"ok": False, "ms": _ms(started), "error": _describe(exc)}
    return {"ok": True, "ms": _ms(started)}


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 1)


def _describe(exc: Exception) -> str:
    # The class and a short message; never a URL (server URLs carry credentials).
    text = str(exc).split("\n", 1)[0]
    for secret in ("postgresql://", "postgres://", "redis://"):
        if secret in text:
            text = ""
    return f"{type(exc).__name__}: {text}"[:200].rstrip(": ")


def readyz(request):
    ready, report = readiness()
    _log_changes(report)
    degraded = ready and not all(entry["ok"] for entry in report.values())
    body = {"status": "degraded" if degraded else "ready" if ready else "not ready"}
    # Which dependency is down, and why, names servers and their errors: for the log and for
    # a caller holding METRICS_TOKEN only. A client address proves nothing behind a proxy.
    if _may_see_details(request):
        body["checks"] = report
    return JsonResponse(body, status=200 if ready else 503)


def _may_see_details(request) -> bool:
    token = settings.METRICS_TOKEN
    given = request.headers.get("Authorization", "")
    return bool(token) and hmac.compare_digest(given.encode(), f"Bearer {token}".encode())


def _log_changes(report: dict) -> None:
    for name, entry in report.items():
        if _last_state.get(name, True) != entry["ok"]:
            if entry["ok"]:
                log.warning("readiness: %s is back up", name)
            else:
                log.warning("readiness: %s is down: %s", name, entry.get("error", ""))
        _last_state[name] = entry["ok"]


def is_internal_client(request) -> bool:
    """A loopback or private client address (load balancers, scrapers, the host itself)."""
    try:
        address = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    return address.is_loopback or address.is_private
