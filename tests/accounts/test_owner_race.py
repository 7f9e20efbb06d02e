"""Two owners demoting each other at the same moment never leave the organisation ownerless."""

from __future__ import annotations

import threading

import pytest

from accounts.models import Role, User
from tenants.context import tenant_scope
from tests.accounts.test_authority import mint
from tests.conftest import unique_subdomain
from tests.factories import TenantFactory, UserFactory
from tests.live import LiveServer
from tests.live_client import api, tenant_host

pytestmark = pytest.mark.slow


def test_simultaneous_demotions_keep_one_owner(committed_db, test_database_url):
    with LiveServer(test_database_url, {"DB_POOL_MAX_SIZE": "4"}, workers=2) as server:
        for attempt in range(3):
            tenant = TenantFactory(subdomain=unique_subdomain("owners"))
            one = UserFactory(tenant=tenant, email=f"one{attempt}@o.test", role=Role.OWNER)
            two = UserFactory(tenant=tenant, email=f"two{attempt}@o.test", role=Role.OWNER)
            tokens = {one.pk: mint(tenant, one), two.pk: mint(tenant, two)}
            host = tenant_host(tenant)
            barrier = threading.Barrier(2)
            statuses = []

            def demote(actor, target, host=host, tokens=tokens, barrier=barrier, out=statuses):
                barrier.wait()
                out.append(
                    api(
                        server,
                        host,
                        tokens[actor.pk],
                        "PATCH",
                        f"/api/v1/members/{target.pk}/",
                        {"role": "member"},
                    )[0]
                )

            threads = [
                threading.Thread(target=demote, args=(one, two)),
                threading.Thread(target=demote, args=(two, one)),
            ]
            for t in threads:
                t.start()
            for t in threads:
                t.join(30)
            with tenant_scope(tenant):
                owners = User.objects.filter(role=Role.OWNER, is_active=True).count()
            assert owners == 1, statuses
            assert sorted(statuses)[0] == 200, statuses
