"""The operator console stays usable while a tenant-database server is down: the fleet list and
the tenant's page answer 200 and say its usage is unavailable (500 before), so an operator can
still find the tenant and act on it."""

from __future__ import annotations

import uuid

import pytest

from operators.services import operator_create
from tenants.models import DatabaseServer
from tests.conftest import unique_subdomain
from tests.factories import TenantFactory
from tests.live import LiveServer
from tests.live_client import Browser, console_host
from tests.tenants.test_placements import closed_port_address, flaky_server

pytestmark = pytest.mark.slow


def test_the_console_lists_and_shows_a_tenant_whose_server_is_down(committed_db, test_database_url):
    flaky = flaky_server()
    down = TenantFactory(
        subdomain=unique_subdomain("srvdown"), isolation="database", database_server=flaky
    )
    fine = TenantFactory(subdomain=unique_subdomain("srvup"))
    DatabaseServer.objects.using("operator").filter(pk=flaky.pk).update(
        address=closed_port_address()
    )
    operator = operator_create(
        email=f"ops-{uuid.uuid4().hex[:8]}@tenantry.test", password="operator-password-1"
    )
    with LiveServer(test_database_url) as server:
        console = Browser(server, console_host())
        assert console.login(operator.email, "operator-password-1", path="/login/")[0] == 302
        status, page = console.request("GET", f"/?q={down.subdomain[:8]}")
        assert status == 200, page[-2000:]
        assert down.subdomain.encode() in page and b"usage unavailable" in page
        status, page = console.request("GET", f"/?q={fine.subdomain}")
        assert status == 200 and b"members" in page  # a reachable tenant's usage as before
        status, page = console.request("GET", f"/tenants/{down.pk}/")
        assert status == 200, page[-2000:]
        assert b"usage unavailable" in page and b"Suspend" in page  # the operator can act
