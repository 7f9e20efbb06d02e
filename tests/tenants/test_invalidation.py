"""A tenant change reaches every process at once: a separate server stops serving a suspended tenant."""

import os
import time

import pytest
from django.conf import settings

from tenants import resolvers
from tenants.services import tenant_reactivate, tenant_suspend
from tests.conftest import unique_subdomain
from tests.factories import TenantFactory
from tests.live import LiveServer, http

pytestmark = pytest.mark.slow


@pytest.fixture
def redis_settings(settings):
    url = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    settings.REDIS_URL = url
    settings.CACHES = {
        **settings.CACHES,
        "tenants": {
            **settings.CACHES["tenants"],
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": url,
        },
    }
    return url


def test_suspension_reaches_a_running_server_process(
    committed_db, test_database_url, redis_settings
):
    tenant = TenantFactory(subdomain=unique_subdomain("inval"))
    host = f"{tenant.subdomain}.{settings.BASE_DOMAIN}"
    env = {"REDIS_URL": redis_settings, "TENANT_REGISTRY_MAX_AGE": "300"}
    with LiveServer(test_database_url, env) as server:
        for _ in range(5):  # warm the server's L1 (once its listener is connected)
            assert http("GET", server.url + "/accounts/login/", host)[0] == 200
            time.sleep(0.1)
        tenant_suspend(tenant=tenant, reason="test")  # commits; on_commit publishes
        deadline = time.monotonic() + 3
        status = None
        while time.monotonic() < deadline:
            status = http("GET", server.url + "/accounts/login/", host)[0]
            if status == 403:
                break
            time.sleep(0.05)
        assert status == 403, "the server kept serving a suspended tenant from its cache"
        tenant_reactivate(tenant=tenant)
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:
            status = http("GET", server.url + "/accounts/login/", host)[0]
            if status == 200:
                break
            time.sleep(0.05)
        assert status == 200
    resolvers.clear_local()
