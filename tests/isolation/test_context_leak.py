"""The tenant context never outlives its transaction: reused connections, errors, PgBouncer."""

import os
import shutil
import socket
import subprocess
import tempfile
import time
from urllib.parse import urlparse

import pytest
from django.conf import settings
from django.db import connection, connections
from django.test import Client, override_settings

from projects.models import Project
from tenants.context import no_tenant, tenant_scope
from tenants.db import register_alias
from tests.conftest import unique_subdomain
from tests.factories import ProjectFactory, TenantFactory

pytestmark = [pytest.mark.isolation]


@pytest.fixture
def two_tenants(committed_db):
    a = TenantFactory(subdomain=unique_subdomain("leak-a"))
    b = TenantFactory(subdomain=unique_subdomain("leak-b"))
    ProjectFactory(tenant=a, name="a-secret")
    ProjectFactory(tenant=b, name="b-secret")
    return a, b


def db_view_without_tenant():
    with no_tenant(), connection.cursor() as cur:
        cur.execute(
            "SELECT pg_backend_pid(), coalesce(current_setting('app.current_tenant', true), ''), "
            "(SELECT count(*) FROM projects_project)"
        )
        return cur.fetchone()


@override_settings(TENANT_URLCONF="tests.probe_urls")
def test_no_leak_across_requests_on_a_reused_connection(two_tenants):
    a, b = two_tenants
    assert connection.pool is not None, "the app's connections are pooled"
    client = Client(raise_request_exception=False)
    host = lambda t: f"{t.subdomain}.{settings.BASE_DOMAIN}"  # noqa: E731

    first = client.get("/probe/", HTTP_HOST=host(a)).json()
    assert first["names"] == ["a-secret"]
    pid, setting, count = db_view_without_tenant()
    assert (pid, setting, count) == (first["pid"], "", 0)

    second = client.get("/probe/atomic/", HTTP_HOST=host(b)).json()
    assert second["names"] == ["b-secret"]
    assert second["pid"] == first["pid"], "the same server connection served both"
    assert db_view_without_tenant() == (first["pid"], "", 0)


@override_settings(TENANT_URLCONF="tests.probe_urls", DEBUG_PROPAGATE_EXCEPTIONS=False)
@pytest.mark.parametrize("failing", ["/probe/boom/", "/probe/boom-autocommit/"])
def test_no_leak_after_a_view_raises(two_tenants, failing):
    a, b = two_tenants
    client = Client(raise_request_exception=False)
    response = client.get(failing, HTTP_HOST=f"{a.subdomain}.{settings.BASE_DOMAIN}")
    assert response.status_code == 500
    pid, setting, count = db_view_without_tenant()
    assert (setting, count) == ("", 0)
    after = client.get("/probe/", HTTP_HOST=f"{b.subdomain}.{settings.BASE_DOMAIN}").json()
    assert after["names"] == ["b-secret"]
    assert after["pid"] == pid


# --- PgBouncer in transaction pooling mode ------------------------------------------------


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def pgbouncer(committed_db):
    binary = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"
    if not os.path.exists(binary):
        pytest.fail("pgbouncer is not installed (make test installs it via scripts/system-deps.sh)")
    db = settings.DATABASES["default"]
    upstream = urlparse(settings.DATABASE_URL)
    port = _free_port()
    workdir = tempfile.mkdtemp(prefix="pgbouncer-")
    os.chmod(workdir, 0o777)
    with open(f"{workdir}/userlist.txt", "w") as f:
        f.write(f'"{db["USER"]}" "{db["PASSWORD"]}"\n')
    with open(f"{workdir}/pgbouncer.ini", "w") as f:
        f.write(
            f"""[databases]
{db["NAME"]} = host={upstream.hostname or "127.0.0.1"} port={upstream.port or 5432} dbname={db["NAME"]}
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {port}
unix_socket_dir =
auth_type = plain
auth_file = {workdir}/userlist.txt
pool_mode = transaction
default_pool_size = 1
max_client_conn = 20
server_reset_query =
ignore_startup_parameters = extra_float_digits,options
logfile = {workdir}/pgbouncer.log
"""
        )
    for name in os.listdir(workdir):
        os.chmod(f"{workdir}/{name}", 0o666)
    cmd = [binary, f"{workdir}/pgbouncer.ini"]
    if os.geteuid() == 0:
        cmd[1:1] = ["-u", "postgres"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                break
        time.sleep(0.1)
    else:
        proc.kill()
        pytest.fail(f"pgbouncer did not start: {proc.stdout.read().decode()}")
    aliases = []
    for n in (1, 2):
        alias = f"bouncer{n}-{port}"
        register_alias(alias, dict(db, HOST="127.0.0.1", PORT=port))
        aliases.append(alias)
    yield aliases
    for alias in aliases:
        connections[alias].close()
        connections[alias].close_pool()
    proc.terminate()
    proc.wait(5)
    shutil.rmtree(workdir, ignore_errors=True)


def _state(alias):
    with connections[alias].cursor() as cur:
        cur.execute(
            "SELECT pg_backend_pid(), coalesce(current_setting('app.current_tenant', true), ''), "
            "(SELECT count(*) FROM projects_project)"
        )
        return cur.fetchone()


def test_no_leak_through_pgbouncer_transaction_pooling(two_tenants, pgbouncer):
    a, b = two_tenants
    one, two = pgbouncer
    with tenant_scope(a):
        assert list(Project.unscoped.using(one).values_list("name", flat=True)) == ["a-secret"]
        pid_a, setting, count = _state(one)
        assert count == 1
    with no_tenant():
        pid_none, setting, count = _state(two)
        assert (setting, count) == ("", 0), "tenant A's context leaked to another client"
    with tenant_scope(b):
        assert list(Project.unscoped.using(two).values_list("name", flat=True)) == ["b-secret"]
    with no_tenant():
        pid_none2, setting, count = _state(one)
        assert (setting, count) == ("", 0)
    # pool size 1: every client above was served by the one server connection
    assert pid_a == pid_none == pid_none2
    # Inside explicit transactions too.
    from django.db import transaction

    with tenant_scope(a), transaction.atomic(using=one):
        assert Project.unscoped.using(one).count() == 1
        assert Project.unscoped.using(one).count() == 1  # second statement: no prefix, same txn
    with no_tenant():
        assert _state(two)[1:] == ("", 0)
