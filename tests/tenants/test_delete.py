"""delete_tenant: exported first, then every row, schema or database and record is gone."""

import io
import json

import psycopg
import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import connections
from django.test import Client

from tenants.database_config import admin_conninfo
from tenants.models import Tenant
from tests.conftest import make_tenant
from tests.factories import ProjectFactory, TaskFactory, UserFactory

pytestmark = [pytest.mark.slow]


def test_delete_tenant_exports_then_removes_everything(committed_db, tmp_path, mode):
    tenant = make_tenant(mode, f"del-{mode[:2]}")
    UserFactory(tenant=tenant)
    TaskFactory(tenant=tenant, project=ProjectFactory(tenant=tenant, name="bye"))
    neighbour = make_tenant("shared", "del-keep")
    ProjectFactory(tenant=neighbour, name="stays")
    out_file = tmp_path / "export.jsonl"

    call_command(
        "delete_tenant", tenant.subdomain, "--yes", "--output", str(out_file), stdout=io.StringIO()
    )

    lines = out_file.read_text().splitlines()
    assert json.loads(lines[0])  # the export's header
    assert any('"bye"' in line for line in lines[1:])
    assert not Tenant.objects.filter(pk=tenant.pk).exists()
    with connections["operator"].cursor() as cur:
        cur.execute(
            "SELECT count(*) FROM public.projects_project WHERE tenant_id = %s", [tenant.pk]
        )
        assert cur.fetchone()[0] == 0
        cur.execute("SELECT count(*) FROM pg_namespace WHERE nspname = %s", [tenant.schema_name])
        assert cur.fetchone()[0] == 0
        cur.execute(
            "SELECT count(*) FROM public.projects_project WHERE tenant_id = %s", [neighbour.pk]
        )
        assert cur.fetchone()[0] == 1
    if mode == "database":
        with psycopg.connect(admin_conninfo(settings.DATABASE_URL, "postgres")) as c:
            assert not c.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", [tenant.database_name]
            ).fetchone()
    assert Client().get("/", HTTP_HOST=f"{tenant.subdomain}.localhost").status_code == 404


def test_delete_tenant_needs_confirmation(committed_db):
    tenant = make_tenant("shared", "del-confirm")
    with pytest.raises(CommandError, match="--yes"):
        call_command("delete_tenant", tenant.subdomain, "--no-export")
    assert Tenant.objects.filter(pk=tenant.pk).exists()
