"""A tenant holds at most its share of its server's transactions, through every door."""

from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.conf import settings
from django.db import OperationalError, connection, connections

from tenants.context import tenant_scope
from tenants.fair_share import is_busy_error, statement_slots
from tests.conftest import unique_subdomain
from tests.factories import TenantFactory
from tests.live import LiveServer, http


def test_slots_follow_the_share_of_the_servers_cores(settings):
    settings.TENANT_DB_SERVER_CORES, settings.TENANT_DB_SHARE = 8, 0.5
    assert statement_slots() == (4, settings.TENANT_DB_SLOT_WAIT_MS)
    settings.TENANT_DB_SERVER_CORES = 1
    assert statement_slots()[0] == 1  # never less than one
    settings.TENANT_DB_SHARE = 0
    assert statement_slots() == (0, 0)


def _sleep_in(tenant, seconds: float, started: threading.Event) -> None:
    try:
        with tenant_scope(tenant), connection.cursor() as cursor:
            started.set()
            cursor.execute("SELECT pg_sleep(%s)", [seconds])
    finally:
        connections.close_all()


@pytest.mark.slow
def test_a_tenant_at_its_share_waits_then_is_refused_while_a_neighbour_runs(committed_db, settings):
    settings.TENANT_DB_SERVER_CORES, settings.TENANT_DB_SHARE = 2, 0.5  # one slot
    settings.TENANT_DB_SLOT_WAIT_MS = 200
    heavy = TenantFactory(subdomain=unique_subdomain("heavy"))
    light = TenantFactory(subdomain=unique_subdomain("light"))
    started = threading.Event()
    worker = threading.Thread(target=_sleep_in, args=(heavy, 1.5, started))
    worker.start()
    try:
        started.wait(5)
        time.sleep(0.3)  # the sleeping statement holds the heavy tenant's slot now
        with tenant_scope(light), connection.cursor() as cursor:
            cursor.execute("SELECT 1")  # the neighbour's slots are its own
        with (
            pytest.raises(OperationalError) as refused,
            tenant_scope(heavy),
            connection.cursor() as cursor,
        ):
            cursor.execute("SELECT 1")
        assert is_busy_error(refused.value)
    finally:
        worker.join(10)
        connections.close_all()
    with tenant_scope(heavy), connection.cursor() as cursor:  # released with its transaction
        cursor.execute("SELECT 1")


@pytest.mark.slow
@pytest.mark.parametrize("cores", [2, 4], ids=["one slot", "two slots"])
def test_a_waiting_transaction_takes_a_slot_when_its_holder_ends(committed_db, settings, cores):
    """Waiting is in the lock's queue, not a nap: served after the holder, its settings intact."""
    settings.TENANT_DB_SERVER_CORES, settings.TENANT_DB_SHARE = cores, 0.5
    settings.TENANT_DB_SLOT_WAIT_MS = 5000
    busy = TenantFactory(subdomain=unique_subdomain("queued"))
    slots = statement_slots()[0]
    holders, ended = [], []
    for _ in range(slots):
        started = threading.Event()
        holder = threading.Thread(target=_sleep_in, args=(busy, 0.8, started))
        holder.start()
        started.wait(5)
        holders.append(holder)
    try:
        time.sleep(0.3)  # every slot is held now, for 0.5 s more at least
        asked = time.monotonic()
        with tenant_scope(busy), connection.cursor() as cursor:
            cursor.execute(
                "SELECT current_setting('lock_timeout'), (SELECT count(*) FROM pg_locks "
                " WHERE locktype = 'advisory' AND pid = pg_backend_pid() AND granted"
                " AND mode = 'ExclusiveLock')"
            )
            lock_timeout, slots_held = cursor.fetchone()
            ended.append(time.monotonic())
    finally:
        for holder in holders:
            holder.join(10)
        connections.close_all()

    assert ended[0] - asked >= 0.4  # served once a holder ended, not refused
    assert slots_held == 1  # the slot taken inside the wait belongs to the transaction
    assert lock_timeout == "0"  # the wait's own lock timeout did not outlive it


@pytest.mark.slow
def test_over_http_the_busy_tenant_gets_503_and_its_neighbour_is_served(
    committed_db, test_database_url
):
    heavy = TenantFactory(subdomain=unique_subdomain("heavy"))
    light = TenantFactory(subdomain=unique_subdomain("light"))
    env = {
        "TEST_TENANT_URLCONF": "tests.observability.slow_urls",
        "TENANT_DB_SERVER_CORES": "2",
        "TENANT_DB_SHARE": "0.5",
        "TENANT_DB_SLOT_WAIT_MS": "300",
    }
    heavy_host = f"{heavy.subdomain}.{settings.BASE_DOMAIN}"
    light_host = f"{light.subdomain}.{settings.BASE_DOMAIN}"
    with LiveServer(test_database_url, env, workers=3) as server:
        for host in (heavy_host, light_host):
            for _ in range(3):
                http("GET", server.url + "/test-db-sleep/?s=0", host)
        with ThreadPoolExecutor(max_workers=1) as pool:
            long = pool.submit(
                http, "GET", server.url + "/test-db-sleep/?s=2", heavy_host, None, None, 15
            )
            time.sleep(0.6)  # the long statement holds the heavy tenant's one slot
            status, headers, body = http(
                "GET",
                server.url + "/test-db-sleep/?s=0",
                heavy_host,
                headers={"Accept": "application/json"},
            )
            light_status = http("GET", server.url + "/test-db-sleep/?s=0", light_host)[0]
            assert long.result()[0] == 200
        assert status == 503, body
        assert json.loads(body)["error"]["code"] == "tenant_busy"
        assert headers["Retry-After"] == "1"
        assert light_status == 200
        assert http("GET", server.url + "/test-db-sleep/?s=0", heavy_host)[0] == 200
