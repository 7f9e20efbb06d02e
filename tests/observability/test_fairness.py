"""A tenant cannot hold more than its plan's share of the workers; its neighbours keep theirs."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.conf import settings

from billing.models import Plan
from observability.fairness import _Local, tenant_slot
from tenants.control import control_alias
from tests.conftest import unique_subdomain
from tests.factories import TenantFactory
from tests.jobs.conftest import REDIS_URL
from tests.live import LiveServer, http

pytestmark = pytest.mark.slow


def _capped_plan(limit: int) -> Plan:
    code = unique_subdomain("cap")[:32]
    return Plan.objects.using(control_alias("test")).create(
        code=code, name=code, is_public=False, max_concurrent_requests=limit
    )


def test_heavy_tenant_is_capped_across_processes_while_a_light_one_is_served(
    committed_db, test_database_url
):
    heavy = TenantFactory(subdomain=unique_subdomain("heavy"), plan=_capped_plan(2))
    light = TenantFactory(subdomain=unique_subdomain("light"))
    env = {
        "REDIS_URL": REDIS_URL,
        "TEST_TENANT_URLCONF": "tests.observability.slow_urls",
        "FAIR_QUEUE_SECONDS": "0.2",
    }
    heavy_host = f"{heavy.subdomain}.{settings.BASE_DOMAIN}"
    light_host = f"{light.subdomain}.{settings.BASE_DOMAIN}"
    # 5 sync workers: without the cap, 5 slow requests of one tenant would take them all.
    with LiveServer(test_database_url, env, workers=5) as server:
        for host in (heavy_host, light_host):  # warm every worker's resolver a little
            for _ in range(5):
                http("GET", server.url + "/accounts/login/", host)

        def slow(_):
            return http("GET", server.url + "/test-slow/?s=2", heavy_host, timeout=15)

        with ThreadPoolExecutor(max_workers=5) as pool:
            futures = [pool.submit(slow, i) for i in range(5)]
            time.sleep(0.6)  # the heavy requests are in flight (or refused) by now
            started = time.monotonic()
            light_status = http("GET", server.url + "/accounts/login/", light_host)[0]
            light_seconds = time.monotonic() - started
            results = [f.result() for f in futures]
        statuses = sorted(status for status, _, _ in results)
        assert statuses == [200, 200, 429, 429, 429], statuses
        refused = next(r for r in results if r[0] == 429)
        assert refused[1]["Retry-After"] == "1"
        assert light_status == 200 and light_seconds < 1.5, light_seconds
        # Slots are released with the responses: the heavy tenant is served again.
        assert http("GET", server.url + "/test-slow/?s=0", heavy_host)[0] == 200


def test_local_fallback_counts_per_process_and_releases(tenant_a):
    from observability import fairness

    saved = fairness.fair_share._local
    fairness.fair_share._local = _Local()
    try:
        with (
            tenant_slot(tenant_a, 1, wait=0) as first,
            tenant_slot(tenant_a, 1, wait=0.05) as second,
        ):
            assert (first, second) == (True, False)
        with tenant_slot(tenant_a, 1, wait=0) as again:
            assert again is True
    finally:
        fairness.fair_share._local = saved
