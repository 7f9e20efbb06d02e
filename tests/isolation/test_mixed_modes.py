"""Tenants of all three modes served by one process, one after another, on the same connections."""

import pytest
from django.conf import settings
from django.test import Client, override_settings

from projects.models import Project
from tenants.context import tenant_scope
from tests.conftest import MODES, make_tenant
from tests.factories import ProjectFactory

pytestmark = [pytest.mark.isolation]


@override_settings(TENANT_URLCONF="tests.probe_urls")
def test_one_process_serves_every_mode_without_mixing(committed_db):
    tenants, expected = [], {}
    for mode in MODES:
        for n in (1, 2):
            tenant = make_tenant(mode, f"mix-{mode[:2]}{n}")
            ProjectFactory(tenant=tenant, name=f"{mode}-{n}-secret")
            tenants.append(tenant)
            expected[tenant.pk] = f"{mode}-{n}-secret"
    client = Client()
    for _ in range(2):  # twice round, so every connection is reused across modes
        for tenant in tenants:
            body = client.get(
                "/probe/", HTTP_HOST=f"{tenant.subdomain}.{settings.BASE_DOMAIN}"
            ).json()
            assert body["names"] == [expected[tenant.pk]], (tenant.isolation, body)
            assert body["setting"] == str(tenant.pk)
    for tenant in tenants:
        with tenant_scope(tenant):
            assert Project.unscoped.count() == 1


def test_schema_tenant_tables_live_in_its_schema(committed_db):
    from django.db import connections

    tenant = make_tenant("schema", "where")
    ProjectFactory(tenant=tenant, name="placed")
    with connections["operator"].cursor() as cur:
        cur.execute(f'SELECT name FROM "{tenant.schema_name}".projects_project')
        assert [r[0] for r in cur.fetchall()] == ["placed"]
        cur.execute(
            "SELECT count(*) FROM public.projects_project WHERE tenant_id = %s", [tenant.pk]
        )
        assert cur.fetchone()[0] == 0
        # the same RLS policy exists in the tenant's schema (defence in depth)
        cur.execute(
            "SELECT c.relrowsecurity, c.relforcerowsecurity, count(p.*) FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace LEFT JOIN pg_policy p ON "
            "p.polrelid = c.oid WHERE n.nspname = %s AND c.relname = 'projects_project' "
            "GROUP BY 1, 2",
            [tenant.schema_name],
        )
        assert cur.fetchone() == (True, True, 1)
