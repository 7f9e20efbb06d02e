"""The registry listener behind PgBouncer: LISTEN is a session's, so it must not be pooled away."""

from __future__ import annotations

import time

import pytest
from django.conf import settings
from django.db import connections

from tenants.control import control_alias
from tenants.models import Tenant
from tests.conftest import unique_subdomain
from tests.factories import TenantFactory
from tests.isolation.test_context_leak import pgbouncer  # noqa: F401 - the fixture
from tests.live import LiveServer, http

pytestmark = pytest.mark.slow


def test_a_server_behind_pgbouncer_hears_registry_changes(
    committed_db,
    test_database_url,
    pgbouncer,  # noqa: F811
):
    """The app's connections go through PgBouncer in transaction mode (docs/operations.md);
    the bound is long, so only the listener's message can make the server see the change."""
    bouncer = connections[pgbouncer[0]].settings_dict
    app_url = (
        f"postgresql://{bouncer['USER']}:{bouncer['PASSWORD']}@127.0.0.1:{bouncer['PORT']}/"
        f"{bouncer['NAME']}"
    )
    env = {"REDIS_URL": "", "APP_DATABASE_URL": app_url, "TENANT_REGISTRY_MAX_AGE": "300"}
    tenant = TenantFactory(subdomain=unique_subdomain("bouncer"))
    host = f"{tenant.subdomain}.{settings.BASE_DOMAIN}"
    with LiveServer(test_database_url, env) as server:
        for _ in range(3):  # the tenant cached, the listener connected (it drops all on connect)
            assert http("GET", server.url + "/accounts/login/", host)[0] == 200
            time.sleep(0.5)
        Tenant.objects.using(control_alias("test")).filter(pk=tenant.pk).update(status="suspended")
        statuses = []
        deadline = time.monotonic() + 15  # far below the bound (300 s)
        while time.monotonic() < deadline and statuses[-1:] != [403]:
            statuses.append(http("GET", server.url + "/accounts/login/", host)[0])
            time.sleep(0.2)
    assert statuses[-1] == 403, "the suspension never reached the server: its listener is deaf"
