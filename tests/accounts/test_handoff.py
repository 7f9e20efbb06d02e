"""The sign-up hand-off token signs in once, whatever the number of processes."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from django.conf import settings

from accounts.handoff import handoff_token_create
from tests.conftest import unique_subdomain
from tests.factories import TenantFactory, UserFactory
from tests.live import LiveServer, http


@pytest.mark.slow
def test_a_handoff_token_works_once_across_processes_without_redis(committed_db, test_database_url):
    tenant = TenantFactory(subdomain=unique_subdomain("handoff"))
    user = UserFactory(tenant=tenant, email="owner@handoff.test", role="owner")
    token = handoff_token_create(tenant=tenant, user=user)
    # Two worker processes, no shared cache: single use must hold in the database.
    env = {"REDIS_URL": "", "BASE_DOMAIN": settings.BASE_DOMAIN}
    with LiveServer(test_database_url, env, workers=2) as server:
        signed_in = [
            http(
                "GET",
                f"{server.url}/accounts/handoff/?token={quote(token)}",
                f"{tenant.subdomain}.{settings.BASE_DOMAIN}",
            )
            for _ in range(8)
        ]
    statuses = [status for status, _, _ in signed_in]
    assert statuses.count(302) == 1 and statuses.count(400) == 7, statuses
