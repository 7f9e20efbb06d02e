"""Spare placements: built ahead, unreachable until claimed, claimed once, current only, per server."""

from __future__ import annotations

import io
import threading
import uuid

import psycopg
import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connections
from psycopg import sql

from audit.models import AuditEvent
from tenants import guards
from tenants.backends import backend_for, pools, refill, spares
from tenants.backends.database import default_server
from tenants.context import tenant_scope
from tenants.database_config import APP_ROLE, admin_conninfo
from tenants.models import DatabaseServer
from tenants.services import tenant_create, tenant_delete
from tests.conftest import unique_subdomain

pytestmark = [pytest.mark.slow]

OWN = ["schema", "database"]


@pytest.fixture
def spare_pool(settings, committed_db):
    """One spare of each mode per server; refills by the test, not by a queued task."""
    settings.TENANT_SPARES = {"schema": 1, "database": 1}
    settings.TENANT_SPARES_REFILL_ON_CLAIM = False
    created = []
    yield created
    for tenant in created:
        tenant_delete(tenant=tenant, reserve=False)
    refill.retire(stale_only=False)


def _spares(mode: str, server=None, current: bool | None = True) -> list[str]:
    server = server or default_server()
    if mode == "schema":
        with pools.pool_placement(server, pooled=False).connect(autocommit=True) as c:
            return spares.schema_spares(c, current=current)
    with psycopg.connect(admin_conninfo(server.url, "postgres"), autocommit=True) as c:
        return spares.database_spares(c, current=current)


def _acl(mode: str, tenant) -> list[str]:
    """The placement's grants, in a comparable order."""
    placement = backend_for(tenant).placement(tenant)
    with psycopg.connect(admin_conninfo(settings.DATABASE_URL, placement.dbname)) as c:
        if mode == "schema":
            query = "SELECT nspacl::text FROM pg_namespace WHERE nspname = %s"
            name = placement.schema
        else:
            query = "SELECT datacl::text FROM pg_database WHERE datname = %s"
            name = placement.dbname
        return sorted(c.execute(query, [name]).fetchone()[0].strip("{}").split(","))


@pytest.mark.parametrize("mode", OWN)
def test_a_sign_up_claims_a_spare_that_serves_like_a_cold_built_placement(spare_pool, mode):
    assert refill.refill(modes=(mode,)) == {mode: 1}
    (spare,) = _spares(mode)
    claimed = tenant_create(name="Warm", subdomain=unique_subdomain("warm"), isolation=mode)
    spare_pool.append(claimed)
    assert _spares(mode) == []  # the spare became the tenant's
    placement = backend_for(claimed).placement(claimed)
    assert spare not in (placement.schema, placement.dbname)
    # Nothing left to claim: the next sign-up builds its own, as before.
    cold = tenant_create(name="Cold", subdomain=unique_subdomain("cold"), isolation=mode)
    spare_pool.append(cold)
    assert _acl(mode, claimed) == _acl(mode, cold)
    for tenant in (claimed, cold):
        with tenant_scope(tenant):
            AuditEvent.objects.create(tenant_id=tenant.pk, action="probe")
            assert AuditEvent.objects.filter(action="probe").count() == 1
    scan = guards.scan(databases=True)
    assert claimed not in scan.tenants and claimed not in scan.unreachable


def test_spares_are_out_of_the_app_roles_reach(spare_pool):
    refill.refill()
    (schema,) = _spares("schema")
    (database,) = _spares("database")
    app = settings.DATABASES["default"]
    assert app["USER"] == APP_ROLE
    login = {"host": app["HOST"], "port": app["PORT"], "user": app["USER"]}
    login["password"] = app["PASSWORD"]
    main = connections["owner"].settings_dict["NAME"]
    with psycopg.connect(dbname=main, autocommit=True, **login) as c:
        table = sql.Identifier(schema, "projects_project")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            c.execute(sql.SQL("SELECT count(*) FROM {}").format(table))
    with pytest.raises(psycopg.OperationalError, match="permission denied"):
        psycopg.connect(dbname=database, **login).close()


@pytest.mark.parametrize("mode", OWN)
def test_concurrent_claims_never_share_a_spare(spare_pool, settings, mode):
    settings.TENANT_SPARES = {mode: 2}
    refill.refill(modes=(mode,))
    assert len(_spares(mode)) == 2
    targets = [f"t_{uuid.uuid4().hex}" for _ in range(5)]
    if mode == "database":
        targets = [f"{spares.database_spare_prefix()}x{uuid.uuid4().hex[:8]}" for _ in targets]
    barrier = threading.Barrier(len(targets))
    won: dict[str, bool] = {}

    def claim(target):
        if mode == "schema":
            conn = pools.pool_placement(None, pooled=False).connect(autocommit=True)
        else:
            conn = psycopg.connect(
                admin_conninfo(settings.DATABASE_URL, "postgres"), autocommit=True
            )
        with conn:
            barrier.wait()
            won[target] = (spares.claim_schema if mode == "schema" else spares.claim_database)(
                conn, target
            )

    threads = [threading.Thread(target=claim, args=(t,)) for t in targets]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    winners = [t for t, ok in won.items() if ok]
    try:
        assert len(winners) == 2, won
        assert _spares(mode) == []
    finally:
        with psycopg.connect(
            admin_conninfo(
                settings.DATABASE_URL,
                "postgres" if mode == "database" else connections["owner"].settings_dict["NAME"],
            ),
            autocommit=True,
        ) as c:
            for target in winners:
                kind = "DATABASE" if mode == "database" else "SCHEMA"
                tail = " WITH (FORCE)" if mode == "database" else " CASCADE"
                c.execute(
                    sql.SQL(f"DROP {kind} IF EXISTS {{}}{tail}").format(sql.Identifier(target))
                )


def test_a_stale_spare_is_never_claimed_and_migrate_tenants_drops_it(spare_pool):
    refill.refill(modes=("schema",))
    (spare,) = _spares("schema")
    stale = f"{spares.SCHEMA_PREFIX}{'0' * 10}_{uuid.uuid4().hex[:12]}"  # an older release's
    with pools.pool_placement(None, pooled=False).connect(autocommit=True) as c:
        c.execute(
            sql.SQL("ALTER SCHEMA {} RENAME TO {}").format(
                sql.Identifier(spare), sql.Identifier(stale)
            )
        )
    assert _spares("schema") == [] and _spares("schema", current=False) == [stale]
    tenant = tenant_create(name="Cold", subdomain=unique_subdomain("stale"), isolation="schema")
    spare_pool.append(tenant)
    assert _spares("schema", current=False) == [stale]  # built cold, the stale one untouched
    call_command("migrate_tenants", "--skip-pooled", stdout=io.StringIO())
    assert _spares("schema", current=None) == []


def test_spares_are_kept_and_claimed_per_server(spare_pool):
    """A server of another region (its own pool on this cluster): its sign-ups claim there."""
    tag = uuid.uuid4().hex[:6]
    region, name = f"sp-{tag}", f"sp1-{tag}"
    call_command(
        "add_database_server",
        name,
        "--url",
        settings.DATABASE_URL,
        "--region",
        region,
        stdout=io.StringIO(),
    )
    server = DatabaseServer.objects.get(name=name)
    try:
        assert refill.refill(server, modes=("schema",)) == {"schema": 1}
        assert _spares("schema", server) and not _spares("schema")  # not the main pool's
        tenant = tenant_create(
            name="Far", subdomain=unique_subdomain("far"), isolation="schema", region=region
        )
        spare_pool.append(tenant)
        assert tenant.database_server == server
        assert _spares("schema", server) == []
        assert backend_for(tenant).placement(tenant).dbname == pools.pool_database_name(server)
    finally:
        refill.retire(server, stale_only=False)
        DatabaseServer.objects.using("operator").filter(pk=server.pk).update(is_active=False)


def test_the_refill_task_tops_up_one_server(spare_pool, settings):
    from tenants.tasks import spares_refill_task

    settings.TENANT_SPARES = {"schema": 1}
    assert spares_refill_task.apply(kwargs={"server": default_server().name}).get() == {
        "schema": 1,
        "database": 0,
    }
    assert spares_refill_task.apply(kwargs={"server": "no-such-server"}).get() == {}
    assert len(_spares("schema")) == 1 and _spares("database") == []


def test_the_refill_command_builds_then_drop_removes_every_spare(spare_pool):
    out = io.StringIO()
    call_command("refill_spares", stdout=out)
    assert "built 1 schemas and 1 databases" in out.getvalue()
    assert len(_spares("schema")) == len(_spares("database")) == 1
    call_command("refill_spares", stdout=io.StringIO())  # full: builds nothing
    assert len(_spares("schema")) == len(_spares("database")) == 1
    call_command("refill_spares", "--drop", stdout=io.StringIO())
    assert _spares("schema", current=None) == _spares("database", current=None) == []


def test_the_rls_check_covers_spare_schemas_as_templates(spare_pool):
    refill.refill(modes=("schema",))
    (spare,) = _spares("schema")
    with pools.pool_placement(None, pooled=False).connect(autocommit=True) as c:
        c.execute(
            sql.SQL("ALTER TABLE {} NO FORCE ROW LEVEL SECURITY").format(
                sql.Identifier(spare, "projects_project")
            )
        )
    scan = guards.scan(databases=False)
    assert [(f.schema, f.table, f.id) for f in scan.templates] == [
        (spare, "projects_project", "tenants.E002")
    ]
    assert not scan.orphans
