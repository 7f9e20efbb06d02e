"""Provisioning a new tenant: what it costs (statements, connections); a re-run still lifts fences."""

from __future__ import annotations

import psycopg
import pytest
from django.db import connections
from django.test.utils import CaptureQueriesContext

from tenants import fence
from tenants.backends import backend_for
from tenants.database_config import OPERATOR_ROLE, OWNER_ROLE
from tenants.models import Tenant, TenantStatus
from tenants.services import tenant_create, tenant_delete, tenant_provision
from tests.conftest import MODES, unique_subdomain

pytestmark = [pytest.mark.slow]


@pytest.fixture
def opened(monkeypatch):
    """Every psycopg connection opened directly (not through a pool): (dbname, options)."""
    seen: list[tuple[str, str]] = []
    real = psycopg.connect

    def connect(*args, **kwargs):
        conn = real(*args, **kwargs)
        seen.append((conn.info.dbname, kwargs.get("options") or ""))
        return conn

    monkeypatch.setattr(psycopg, "connect", connect)
    return seen


def _warm() -> None:
    """What any serving process has done once: its registry aliases are open, the main
    server is registered, the templates are current (checked once per process)."""
    from django.conf import settings

    from tenants.backends import database, schema

    for alias in ("default", "operator"):
        with connections[alias].cursor() as cur:
            cur.execute("SELECT 1")
    database.default_server()
    schema.ensure_template()
    database.ensure_template(settings.DATABASE_URL)


def test_a_new_shared_tenant_takes_four_statements_and_no_connection(committed_db, opened):
    _warm()
    opened.clear()
    sub = unique_subdomain("cost")
    with (
        CaptureQueriesContext(connections["default"]) as read,
        CaptureQueriesContext(connections["operator"]) as written,
    ):
        tenant = tenant_create(name="Cost", subdomain=sub, isolation="shared")
    try:
        # Plan, servers of the region, not reserved; then one INSERT (no BEGIN/COMMIT
        # around it, no count of every tenant with one server, no existence checks of
        # the rows just read, no look-up of the subdomain the INSERT's unique key checks,
        # no UPDATE with nothing to change).
        assert len(read.captured_queries) == 3, [q["sql"][:60] for q in read.captured_queries]
        assert [q["sql"].split()[0] for q in written.captured_queries] == ["INSERT"]
        # A new id has no fence anywhere: none is looked for.
        assert opened == []
        row = Tenant.objects.get(pk=tenant.pk)
        assert (row.status, row.migration_error) == (TenantStatus.ACTIVE, "")
    finally:
        tenant_delete(tenant=tenant, reserve=False)


@pytest.mark.parametrize("mode", ["schema", "database"])
def test_a_new_placement_opens_one_admin_connection(committed_db, opened, mode):
    _warm()
    opened.clear()
    sub = unique_subdomain("conn")
    tenant = tenant_create(name="Conn", subdomain=sub, isolation=mode)
    try:
        placement = backend_for(tenant).placement(tenant)
        direct = [(db, opts) for db, opts in opened if f"role={OPERATOR_ROLE}" in opts]
        assert direct == [], "a fence connection for a tenant that cannot have one"
        if mode == "schema":
            # The clone in one message on one connection (the template was current).
            mine = [o for o in opened if o[0] == placement.dbname and tenant.schema_name in o[1]]
            assert len(mine) == 1 and f"role={OWNER_ROLE}" in mine[0][1]
        else:
            assert [db for db, _ in opened].count("postgres") == 1  # CREATE DATABASE
        row = Tenant.objects.get(pk=tenant.pk)
        assert row.status == TenantStatus.ACTIVE
        assert row.migration_state and row.migrated_at is not None
    finally:
        tenant_delete(tenant=tenant, reserve=False)


@pytest.mark.parametrize("mode", MODES)
def test_provisioning_again_lifts_an_old_fence(committed_db, mode):
    """The job and the command re-provision a tenant that exists: old fences there go."""
    tenant = tenant_create(name="Refenced", subdomain=unique_subdomain("refence"), isolation=mode)
    placement = backend_for(tenant).placement(tenant)
    try:
        fence.fence(placement, tenant.pk, "left once")
        assert fence.fences(placement, tenant.pk) == [(placement.fence_key, "left once")]
        tenant_provision(tenant=tenant)
        assert fence.fences(placement, tenant.pk) == []
        assert Tenant.objects.get(pk=tenant.pk).status == TenantStatus.ACTIVE
    finally:
        tenant_delete(tenant=tenant, reserve=False)
