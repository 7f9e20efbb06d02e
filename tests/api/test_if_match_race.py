"""Two writers holding the same ETag, on real concurrent connections: exactly one wins."""

from __future__ import annotations

import threading
import time

from django.db import connections, transaction

from projects.models import Project
from tenants.context import tenant_scope
from tests.api.conftest import ApiTestClient, host_of, mint
from tests.conftest import unique_subdomain
from tests.factories import ProjectFactory, TenantFactory


def test_concurrent_if_match_updates_one_wins(committed_db):
    tenant = TenantFactory(subdomain=unique_subdomain("etag"))
    project = ProjectFactory(tenant=tenant, name="v0")
    secret = mint(tenant, ["write"])
    url = f"/api/v1/projects/{project.pk}/"
    etag = ApiTestClient(host_of(tenant), secret).get(url).headers["ETag"]
    statuses: list[int] = []

    def writer(name: str) -> None:
        try:
            client = ApiTestClient(host_of(tenant), secret)
            response = client.patch(url, {"name": name}, format="json", HTTP_IF_MATCH=etag)
            statuses.append(response.status_code)
        finally:
            connections.close_all()

    # Hold the row lock so both writers are inside their request, past reading the tag
    # if they did not lock, before either can write.
    with tenant_scope(tenant), transaction.atomic():
        Project.objects.select_for_update().get(pk=project.pk)
        threads = [threading.Thread(target=writer, args=(f"v{i}",)) for i in (1, 2)]
        for t in threads:
            t.start()
        time.sleep(1.0)
    for t in threads:
        t.join(30)
    assert sorted(statuses) == [200, 412], statuses
    with tenant_scope(tenant):
        assert Project.objects.get(pk=project.pk).name in ("v1", "v2")
