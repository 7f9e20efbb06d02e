"""A second PostgreSQL server (its own cluster on a free port): placement there, and residency."""

import io
import uuid

import psycopg
import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.test import Client, override_settings

from tenants.context import tenant_scope
from tenants.database_config import admin_conninfo
from tenants.services import tenant_get
from tests.conftest import make_tenant, unique_subdomain
from tests.factories import ProjectFactory
from tests.pg_cluster import pg_cluster

pytestmark = [pytest.mark.slow]


@pytest.fixture(scope="module")
def second_server(django_db_setup, django_db_blocker):
    with pg_cluster(django_db_blocker, "second-pg-") as url:
        yield url


def databases_on(url):
    with psycopg.connect(admin_conninfo(url, "postgres"), autocommit=True) as c:
        return {r[0] for r in c.execute("SELECT datname FROM pg_database")}


@override_settings(TENANT_URLCONF="tests.probe_urls")
def test_database_tenant_placed_on_a_second_server(committed_db, second_server):
    sub = unique_subdomain("far")
    call_command(
        "create_tenant",
        "--name",
        "Far Away",
        "--subdomain",
        sub,
        "--isolation",
        "database",
        "--database-url",
        second_server,
        stdout=io.StringIO(),
    )
    tenant = tenant_get(sub)
    assert tenant.database_server.url == second_server
    assert tenant.database_name in databases_on(second_server)
    assert tenant.database_name not in databases_on(settings.DATABASE_URL)
    ProjectFactory(tenant=tenant, name="far-away-project")
    # The row physically lives on the second server…
    with psycopg.connect(admin_conninfo(second_server, tenant.database_name)) as c:
        assert c.execute("SELECT name FROM projects_project").fetchall() == [("far-away-project",)]
    # …and the app serves it through the same views as every other tenant.
    body = Client().get("/probe/", HTTP_HOST=f"{sub}.{settings.BASE_DOMAIN}").json()
    assert body["names"] == ["far-away-project"]


def test_move_a_tenant_onto_the_second_server(committed_db, second_server, settings):
    tenant = make_tenant("schema", "to-far")
    ProjectFactory(tenant=tenant, name="travels")
    call_command(
        "move_tenant",
        tenant.subdomain,
        "--to",
        "database",
        "--database-url",
        second_server,
        stdout=io.StringIO(),
        stderr=io.StringIO(),
    )
    moved = tenant_get(tenant.subdomain)
    assert moved.database_server.url == second_server
    with tenant_scope(moved):
        from projects.models import Project

        assert list(Project.objects.values_list("name", flat=True)) == ["travels"]


def test_data_residency_is_enforced(committed_db, second_server):
    region = f"eu-{uuid.uuid4().hex[:6]}"
    name = f"eu-{uuid.uuid4().hex[:6]}"
    call_command(
        "add_database_server",
        name,
        "--url",
        second_server,
        "--region",
        region,
        stdout=io.StringIO(),
    )
    with pytest.raises(CommandError, match="never placed there"):
        call_command(
            "create_tenant",
            "--name",
            "US",
            "--subdomain",
            unique_subdomain("us"),
            "--isolation",
            "database",
            "--server",
            name,
            "--region",
            "us",
        )
    sub = unique_subdomain("eu")
    call_command(
        "create_tenant",
        "--name",
        "EU",
        "--subdomain",
        sub,
        "--isolation",
        "database",
        "--server",
        name,
        "--region",
        region,
        stdout=io.StringIO(),
    )
    tenant = tenant_get(sub)
    assert (tenant.region, tenant.database_server.name) == (region, name)
