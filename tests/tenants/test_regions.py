"""Regions: pools on every server, placement by (mode, server), residency refusals, rebalancing.

Two extra PostgreSQL clusters (tests.pg_cluster) are the servers of two regions;
the eu region has a second server (a registry entry on the main cluster: its
own pool database there).
"""

import io
import json
import uuid
from dataclasses import dataclass

import psycopg
import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.core.management.base import SystemCheckError
from django.test import Client, override_settings

from tenants import guards, resolvers
from tenants.backends import backend_for
from tenants.backends.pools import pool_placement
from tenants.context import tenant_scope
from tenants.database_config import admin_conninfo
from tenants.models import DatabaseServer
from tenants.services import tenant_get
from tests.api.conftest import mint
from tests.conftest import unique_subdomain
from tests.factories import ProjectFactory
from tests.live import LiveServer, free_port, http
from tests.pg_cluster import pg_cluster

pytestmark = [pytest.mark.slow]


@dataclass
class Fleet:
    eu: str  # region names (unique per run)
    us: str
    eu1: DatabaseServer  # second cluster
    eu2: DatabaseServer  # the main cluster, its own pool database
    us1: DatabaseServer  # third cluster


@pytest.fixture(scope="module")
def fleet(django_db_setup, django_db_blocker):
    tag = uuid.uuid4().hex[:6]
    with (
        pg_cluster(django_db_blocker, "eu-pg-") as eu_url,
        pg_cluster(django_db_blocker, "us-pg-") as us_url,
    ):
        with django_db_blocker.unblock():
            eu, us = f"eu-{tag}", f"us-{tag}"
            for name, url, region in (
                (f"eu1-{tag}", eu_url, eu),
                (f"eu2-{tag}", settings.DATABASE_URL, eu),
                (f"us1-{tag}", us_url, us),
            ):
                call_command(
                    "add_database_server",
                    name,
                    "--url",
                    url,
                    "--region",
                    region,
                    stdout=io.StringIO(),
                )
            servers = {s.name: s for s in DatabaseServer.objects.filter(name__endswith=tag)}
        yield Fleet(eu, us, servers[f"eu1-{tag}"], servers[f"eu2-{tag}"], servers[f"us1-{tag}"])
        with django_db_blocker.unblock():
            DatabaseServer.objects.using("operator").filter(name__endswith=tag).update(
                is_active=False
            )


def create(mode: str, region: str, server: str | None = None, prefix: str = "r"):
    sub = unique_subdomain(prefix)
    args = ["--name", sub, "--subdomain", sub, "--isolation", mode, "--region", region]
    if server:
        args += ["--server", server]
    call_command("create_tenant", *args, stdout=io.StringIO())
    return tenant_get(sub)


def rows_on(placement, tenant) -> list[str]:
    """Project names of the tenant, read on the cluster itself as the superuser."""
    with psycopg.connect(admin_conninfo(placement.server_url, placement.dbname)) as conn:
        table = f'"{placement.schema}".projects_project'
        return [
            r[0]
            for r in conn.execute(
                f"SELECT name FROM {table} WHERE tenant_id = %s ORDER BY name", [tenant.pk]
            )
        ]


def gone(placement, tenant) -> bool:
    if placement.schema == "public":
        return rows_on(placement, tenant) == []
    with psycopg.connect(admin_conninfo(placement.server_url, placement.dbname)) as conn:
        found = conn.execute(
            "SELECT 1 FROM pg_namespace WHERE nspname = %s", [placement.schema]
        ).fetchone()
    return found is None


def main_rows(tenant) -> list:
    main = pool_placement(None)
    return rows_on(main, tenant) if tenant.isolation == "shared" else []


def test_shared_and_schema_tenants_on_every_server_served_over_http(
    committed_db, fleet, test_database_url
):
    placed = [
        create(mode, region, server.name, f"{mode[:2]}-{server.name[:3]}")
        for mode in ("shared", "schema")
        for region, server in ((fleet.eu, fleet.eu1), (fleet.us, fleet.us1))
    ]
    secrets = {t.pk: mint(t, ["write"]) for t in placed}
    with LiveServer(test_database_url) as server:
        for t in placed:
            host = f"{t.subdomain}.{settings.BASE_DOMAIN}"
            headers = {"Authorization": f"Bearer {secrets[t.pk]}"}
            headers["Content-Type"] = "application/json"
            body = json.dumps({"name": f"p-{t.subdomain}"}).encode()
            status, _, answer = http("POST", server.url + "/api/v1/projects/", host, body, headers)
            assert status == 201, answer
            status, _, answer = http("GET", server.url + "/api/v1/projects/", host, None, headers)
            assert status == 200
            assert [p["name"] for p in json.loads(answer)["results"]] == [f"p-{t.subdomain}"]
    for t in placed:
        placement = backend_for(t).placement(t)
        assert placement.server_url == t.database_server.url
        # The row is in that server's cluster, and not in the main database.
        assert rows_on(placement, t) == [f"p-{t.subdomain}"]
        assert main_rows(t) == []
    # list_tenants names the server and region of each.
    out = io.StringIO()
    call_command("list_tenants", "--json", stdout=out)
    rows = {r["subdomain"]: r for r in json.loads(out.getvalue())}
    for t in placed:
        assert (rows[t.subdomain]["server"], rows[t.subdomain]["region"]) == (
            t.database_server.name,
            t.region,
        )
        assert rows[t.subdomain]["rows"] >= 1
    text = io.StringIO()
    call_command("list_tenants", "--no-counts", stdout=text)
    line = next(x for x in text.getvalue().splitlines() if placed[0].subdomain in x)
    assert fleet.eu in line and fleet.eu1.name in line


def test_new_tenants_go_to_the_least_loaded_server_of_their_region(committed_db, fleet):
    for _ in range(3):
        loads = {
            s.name: s.tenants.count()
            for s in DatabaseServer.objects.filter(pk__in=[fleet.eu1.pk, fleet.eu2.pk])
        }
        expected = min(sorted(loads), key=loads.get)  # ties: by name
        tenant = create("shared", fleet.eu, prefix="auto")
        assert (tenant.database_server.name, tenant.region) == (expected, fleet.eu)
    ProjectFactory(tenant=tenant, name="auto")
    assert rows_on(backend_for(tenant).placement(tenant), tenant) == ["auto"]


def test_placement_outside_the_region_is_refused(committed_db, fleet):
    with pytest.raises(CommandError, match="never placed there"):
        create("shared", fleet.eu, fleet.us1.name)
    with pytest.raises(CommandError, match="never placed there"):
        create("schema", fleet.us, fleet.eu1.name)
    with pytest.raises(CommandError, match="no database server registered in region 'mars'"):
        create("shared", "mars")
    tenant = create("schema", fleet.eu, fleet.eu1.name, "stay")
    with pytest.raises(CommandError, match="never placed there"):
        call_command(
            "move_tenant",
            tenant.subdomain,
            "--to",
            "shared",
            "--server",
            fleet.us1.name,
            stdout=io.StringIO(),
            stderr=io.StringIO(),
        )
    assert tenant_get(tenant.subdomain).database_server_id == fleet.eu1.pk


def test_a_move_between_modes_stays_on_the_tenant_server(committed_db, fleet):
    tenant = create("schema", fleet.us, fleet.us1.name, "modes")
    ProjectFactory(tenant=tenant, name="kept")
    call_command(
        "move_tenant",
        tenant.subdomain,
        "--to",
        "shared",
        stdout=io.StringIO(),
        stderr=io.StringIO(),
    )
    moved = tenant_get(tenant.subdomain)
    assert (moved.isolation, moved.database_server_id) == ("shared", fleet.us1.pk)
    assert rows_on(backend_for(moved).placement(moved), moved) == ["kept"]
    with tenant_scope(moved):
        from projects.models import Project

        assert list(Project.objects.values_list("name", flat=True)) == ["kept"]


def test_rebalance_plans_then_applies(committed_db, fleet):
    # Every eu tenant of earlier tests onto eu1, then four more: eu2 holds none.
    call_command(
        "rebalance_tenants", "--region", fleet.eu, "--max-moves", "0", stdout=io.StringIO()
    )
    for t in DatabaseServer.objects.get(pk=fleet.eu2.pk).tenants.all():
        call_command(
            "move_tenant",
            t.subdomain,
            "--to",
            t.isolation,
            "--server",
            fleet.eu1.name,
            stdout=io.StringIO(),
            stderr=io.StringIO(),
        )
    extra = [create(m, fleet.eu, fleet.eu1.name, "bal") for m in ("shared", "schema") * 2]
    for t in extra:
        ProjectFactory(tenant=t, name=f"keep-{t.subdomain}")
    on_eu1 = DatabaseServer.objects.get(pk=fleet.eu1.pk).tenants.count()

    out = io.StringIO()
    call_command(
        "rebalance_tenants", "--region", fleet.eu, "--by", "count", "--max-moves", "1", stdout=out
    )
    assert "dry run: 1 move(s) planned" in out.getvalue()
    assert fleet.eu1.name in out.getvalue() and fleet.eu2.name in out.getvalue()
    assert DatabaseServer.objects.get(pk=fleet.eu1.pk).tenants.count() == on_eu1  # nothing moved

    out = io.StringIO()
    call_command(
        "rebalance_tenants",
        "--region",
        fleet.eu,
        "--by",
        "count",
        "--max-moves",
        "2",
        "--json",
        stdout=out,
    )
    plan = json.loads(out.getvalue())
    assert plan["applied"] is False and len(plan["moves"]) == 2 and plan["by"] == "count"
    assert plan["after"] == {fleet.eu1.name: on_eu1 - 2, fleet.eu2.name: 2}

    out = io.StringIO()
    call_command(
        "rebalance_tenants",
        "--region",
        fleet.eu,
        "--by",
        "count",
        "--max-moves",
        "2",
        "--apply",
        "--json",
        stdout=out,
    )
    done = json.loads(out.getvalue())
    assert [m["outcome"] for m in done["moves"]] == ["done", "done"]
    for m in done["moves"]:
        tenant = tenant_get(m["subdomain"])
        assert tenant.database_server_id == fleet.eu2.pk
        placement = backend_for(tenant).placement(tenant)
        assert placement.server_url == settings.DATABASE_URL  # eu2's cluster
        assert rows_on(placement, tenant) == [f"keep-{tenant.subdomain}"]
        # The source copy is gone from eu1's cluster.
        assert gone(pool_placement(fleet.eu1, placement.schema), tenant)
    assert DatabaseServer.objects.get(pk=fleet.eu2.pk).tenants.count() == 2


def test_rebalance_by_size_moves_the_big_tenant_where_by_count_moves_small_ones(committed_db):
    """Two servers of one region (pools on the main cluster): one large and three small
    tenants on the first. By count, two small tenants would move; by size (the default),
    the one large tenant does, and the plan shows each server's bytes."""
    from django.db import connections

    from projects.models import Project

    tag = uuid.uuid4().hex[:6]
    region, full, empty = f"sz-{tag}", f"sz1-{tag}", f"sz2-{tag}"
    for name in (full, empty):
        call_command(
            "add_database_server",
            name,
            "--url",
            settings.DATABASE_URL,
            "--region",
            region,
            stdout=io.StringIO(),
        )
    try:
        big = create("shared", region, full, "big")
        small = [create("shared", region, full, "small") for _ in range(3)]
        with tenant_scope(big):
            Project.objects.bulk_create(
                [
                    Project(tenant_id=big.pk, name=f"p{i:05d}", description="x" * 200)
                    for i in range(3000)
                ]
            )
        for t in small:
            ProjectFactory(tenant=t, name=f"keep-{t.subdomain}")

        out = io.StringIO()
        args = ["rebalance_tenants", "--region", region, "--json"]
        call_command(*args, "--by", "count", stdout=out)
        by_count = json.loads(out.getvalue())
        assert by_count["after"] == {full: 2, empty: 2}
        assert big.subdomain not in [m["subdomain"] for m in by_count["moves"]]

        out = io.StringIO()
        call_command(*args, stdout=out)
        plan = json.loads(out.getvalue())
        assert plan["by"] == "size" and plan["applied"] is False
        assert [m["subdomain"] for m in plan["moves"]] == [big.subdomain]
        assert plan["after"] == {full: 3, empty: 1}
        sizes, moved_bytes = plan["bytes_before"], plan["moves"][0]["bytes"]
        assert sizes[empty] == 0 and sizes[full] > 3000 * 200  # at least the descriptions
        assert moved_bytes > 0.9 * sizes[full]
        assert plan["bytes_after"] == {full: sizes[full] - moved_bytes, empty: moved_bytes}

        text = io.StringIO()
        call_command("rebalance_tenants", "--region", region, stdout=text)
        assert "dry run: 1 move(s) planned" in text.getvalue() and "(by size)" in text.getvalue()
        assert "DATA AFTER" in text.getvalue() and " MB" in text.getvalue()  # human sizes

        out = io.StringIO()
        call_command(*args, "--apply", stdout=out)
        done = json.loads(out.getvalue())
        assert [m["outcome"] for m in done["moves"]] == ["done"]
        moved = tenant_get(big.subdomain)
        assert moved.database_server.name == empty
        with tenant_scope(moved):
            assert Project.objects.filter(tenant_id=big.pk).count() == 3000
        # Even now: the big tenant alone outweighs the rest, nothing more to plan.
        out = io.StringIO()
        call_command(*args, stdout=out)
        assert json.loads(out.getvalue())["moves"] == []
    finally:
        for conn in connections.all(initialized_only=True):
            if conn.alias.startswith("pool_"):
                conn.close()
        DatabaseServer.objects.using("operator").filter(name__endswith=tag).update(is_active=False)


def test_migrate_tenants_and_the_rls_check_cover_every_server(committed_db, fleet):
    tenant = create("schema", fleet.us, fleet.us1.name, "mig")
    pool = pool_placement(fleet.us1)
    with psycopg.connect(admin_conninfo(pool.server_url, pool.dbname), autocommit=True) as c:
        # The pool and one tenant schema there lag behind the code.
        c.execute("DROP TABLE public.audit_auditevent")
        c.execute("DELETE FROM public.django_migrations WHERE app = 'audit'")
        c.execute(f"DROP TABLE {tenant.schema_name}.audit_auditevent")
        c.execute(f"DELETE FROM {tenant.schema_name}.django_migrations WHERE app = 'audit'")
    out = io.StringIO()
    call_command("migrate_tenants", "--json", stdout=out, stderr=io.StringIO())
    report = {row["subdomain"]: row for row in json.loads(out.getvalue())}
    assert report[f"(pool on {fleet.us1.name})"]["status"] == "ok"
    assert report[f"(pool on {fleet.us1.name})"]["applied"] >= 1
    assert report[tenant.subdomain]["status"] == "ok"
    assert report[tenant.subdomain]["applied"] >= 1
    with psycopg.connect(admin_conninfo(pool.server_url, pool.dbname)) as c:
        for schema in ("public", tenant.schema_name):
            found = c.execute("SELECT to_regclass(%s)", [f"{schema}.audit_auditevent"]).fetchone()
            assert found[0] is not None

    # A pooled table of that server without RLS is found like one of the main database.
    with psycopg.connect(admin_conninfo(pool.server_url, pool.dbname), autocommit=True) as c:
        c.execute("ALTER TABLE public.projects_project NO FORCE ROW LEVEL SECURITY")
        try:
            scan = guards.scan()
            # The system check (no --database) inspects every pool like the main database.
            with pytest.raises(SystemCheckError, match=f"{pool.dbname}:public.projects_project"):
                call_command("check", "--tag", "tenancy", stdout=io.StringIO())
        finally:
            c.execute("ALTER TABLE public.projects_project FORCE ROW LEVEL SECURITY")
    assert any(f.database == pool.dbname and f.table == "projects_project" for f in scan.pooled), (
        scan.pooled
    )


@override_settings(TENANT_URLCONF="tests.probe_urls")
def test_a_pool_server_down_gives_its_tenants_503_and_others_keep_working(committed_db, fleet):
    # Another registry entry on the eu cluster: its own pool there, a URL this test may break.
    name = f"eu3-{uuid.uuid4().hex[:6]}"
    call_command(
        "add_database_server",
        name,
        "--url",
        fleet.eu1.url,
        "--region",
        fleet.eu,
        stdout=io.StringIO(),
    )
    down = [create(mode, fleet.eu, name, f"dn-{mode[:2]}") for mode in ("shared", "schema")]
    up = create("shared", fleet.us, fleet.us1.name, "up")
    for t in (*down, up):
        ProjectFactory(tenant=t, name=f"{t.subdomain}-p")
    client = Client()
    for t in (*down, up):
        body = client.get("/probe/", HTTP_HOST=f"{t.subdomain}.{settings.BASE_DOMAIN}").json()
        assert body["names"] == [f"{t.subdomain}-p"]
    DatabaseServer.objects.using("operator").filter(name=name).update(
        address=f"postgresql://127.0.0.1:{free_port()}/postgres", is_active=False
    )
    resolvers.invalidate_many([t.subdomain for t in down])
    for t in down:
        response = client.get("/probe/", HTTP_HOST=f"{t.subdomain}.{settings.BASE_DOMAIN}")
        assert response.status_code == 503
        assert b"tenant_database_unavailable" in response.content
    body = client.get("/probe/", HTTP_HOST=f"{up.subdomain}.{settings.BASE_DOMAIN}").json()
    assert body["names"] == [f"{up.subdomain}-p"]


@override_settings(TENANT_URLCONF="tests.probe_urls", TENANT_REGISTRY_MAX_AGE=60)
def test_routing_to_a_pool_reads_no_registry_in_steady_state(committed_db, fleet):
    from django.db import connections
    from django.test.utils import CaptureQueriesContext

    tenant = create("schema", fleet.us, fleet.us1.name, "steady")
    ProjectFactory(tenant=tenant, name="steady")
    client = Client()
    host = f"{tenant.subdomain}.{settings.BASE_DOMAIN}"
    assert client.get("/probe/", HTTP_HOST=host).json()["names"] == ["steady"]  # warms the cache
    with CaptureQueriesContext(connections["default"]) as main:
        assert client.get("/probe/", HTTP_HOST=host).json()["names"] == ["steady"]
    registry = [q["sql"] for q in main.captured_queries if "tenants_" in q["sql"]]
    assert registry == []


def test_tenants_sharing_a_pool_are_kept_apart_by_rls(committed_db, fleet):
    from django.db import connections

    from projects.models import Project
    from tenants.backends.pools import pool_alias
    from tenants.routers import data_alias

    a, b = (create("shared", fleet.us, fleet.us1.name, p) for p in ("iso-a", "iso-b"))
    for t in (a, b):
        ProjectFactory(tenant=t, name=f"{t.subdomain}-p")
    for t, other in ((a, b), (b, a)):
        with tenant_scope(t):
            assert data_alias() == pool_alias(fleet.us1)
            # RLS alone (no app-level filter): only the tenant's own row.
            assert list(Project.unscoped.values_list("name", flat=True)) == [f"{t.subdomain}-p"]
            assert not Project.unscoped.filter(tenant_id=other.pk).exists()
    # The pool's alias with no tenant in context sees nothing (the app role, RLS forced).
    with connections[pool_alias(fleet.us1)].cursor() as cur:
        cur.execute("SELECT count(*) FROM projects_project")
        assert cur.fetchone()[0] == 0


@pytest.mark.parametrize("mode", ["shared", "schema"])
def test_a_plan_change_reaches_pool_tenants_whose_instance_carries_the_old_plan(
    committed_db, fleet, mode
):
    """Rows in another pool than the main database's: the limits kept beside them are the
    ones the plan change deletes (a schema tenant's own schema), so a stale instance is
    refused by the new plan at once."""
    from billing.limits import PlanLimitExceeded, limit_check
    from billing.models import PlanLimits
    from billing.subscriptions import subscription_change_plan
    from tenants.models import Tenant
    from tenants.transactions import tenant_atomic
    from tests.billing.conftest import private_plan

    loose, tight = private_plan(max_projects=5), private_plan(max_projects=2)
    created = create(mode, fleet.eu, fleet.eu2.name, "lim")
    Tenant.objects.using("operator").filter(pk=created.pk).update(plan=loose)
    stale = Tenant.objects.select_related("plan", "database_server").get(pk=created.pk)
    for n in range(2):
        ProjectFactory(tenant=stale, name=f"p{n}")
    with tenant_scope(stale), tenant_atomic():
        limit_check(tenant=stale, limit="max_projects")  # keeps loose's limits
    with tenant_scope(stale):
        assert list(PlanLimits.objects.values_list("max_projects", flat=True)) == [5]
        subscription_change_plan(tenant=tenant_get(created.subdomain), plan_code=tight.code)
        assert not PlanLimits.objects.exists()
    with tenant_scope(stale), pytest.raises(PlanLimitExceeded) as info, tenant_atomic():
        limit_check(tenant=stale, limit="max_projects")
    assert (info.value.limit_value, info.value.usage) == (2, 2)
