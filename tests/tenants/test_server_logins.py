"""A registered server's login is a secret: the app role never reads one.

The app role (every tenant request) routes to a server by its address and logs in as
itself; the login that may create roles and databases there lives in a table only the
operator role can read. Checked as the app role, through the real door that registers
a server (`add_database_server`), over every table the app role can read.
"""

from __future__ import annotations

import io
import uuid

import psycopg
import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connections

from tenants.database_config import split_credentials, with_credentials
from tenants.models import DatabaseServer

SECRET = "s3cret-" + uuid.uuid4().hex  # trust auth here: the server ignores it, the app must too


def _registered(name: str) -> str:
    address, _, _ = split_credentials(settings.DATABASE_URL)
    url = with_credentials(address, "postgres", SECRET)
    call_command(
        "add_database_server", name, "--url", url, "--region", f"x-{name}", stdout=io.StringIO()
    )
    return url


def _app_readable_tables(cur) -> list[str]:
    cur.execute(
        "SELECT quote_ident(c.relname) FROM pg_class c "
        "JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'v', 'm', 'p') "
        "AND has_table_privilege(current_user, c.oid, 'SELECT') ORDER BY 1"
    )
    return [r[0] for r in cur.fetchall()]


def test_the_app_role_reads_no_server_login_anywhere(committed_db):
    name = f"lg-{uuid.uuid4().hex[:8]}"
    url = _registered(name)
    with connections["default"].cursor() as cur:  # the app role, no tenant in context
        cur.execute("SELECT current_user, pg_has_role(current_user, 'pg_read_all_data', 'MEMBER')")
        role, reads_all = cur.fetchone()
        assert role == settings.DATABASES["default"]["USER"] and not reads_all
        tables = _app_readable_tables(cur)
        assert "tenants_databaseserver" in tables  # it routes with it
        assert "tenants_databaseserverlogin" not in tables
        for table in tables:
            cur.execute(f"SELECT count(*) FROM {table} t WHERE strpos(t::text, %s) > 0", [SECRET])
            assert cur.fetchone()[0] == 0, f"{table} shows a server's password to the app role"
        cur.execute("SELECT address FROM tenants_databaseserver WHERE name IN (%s, 'main')", [name])
        for (address,) in cur.fetchall():
            assert "@" not in address and "password" not in address
    # The app role is refused the login table itself, not shown an empty one.
    with (
        connections["default"].cursor() as cur,
        pytest.raises(Exception, match="permission denied"),
    ):
        cur.execute("SELECT * FROM tenants_databaseserverlogin")
    # Operator paths still get the whole URL back.
    server = DatabaseServer.objects.get(name=name)
    assert server.url == url
    assert split_credentials(server.url)[2] == SECRET


def test_registering_again_with_another_password_is_refused_and_keeps_the_login(committed_db):
    name = f"lg-{uuid.uuid4().hex[:8]}"
    url = _registered(name)
    other = with_credentials(split_credentials(url)[0], "postgres", "another")
    with pytest.raises(Exception, match="another URL or region"):
        call_command(
            "add_database_server",
            name,
            "--url",
            other,
            "--region",
            f"x-{name}",
            stdout=io.StringIO(),
        )
    assert DatabaseServer.objects.get(name=name).url == url


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://admin:p%40ss%3Aw@db.internal:6432/saas?sslmode=require",
        "postgresql://db.internal/saas?user=admin&password=pw&sslmode=verify-full",
        "postgres://[::1]:5433/x",
        "postgresql://admin@localhost/saas",
    ],
)
def test_split_and_join_round_trip_without_leaving_a_credential_in_the_address(url):
    address, user, password = split_credentials(url)
    assert "admin" not in address and "pw" not in address and "p%40ss" not in address
    joined = with_credentials(address, user, password)
    assert split_credentials(joined) == (address, user, password)
    parsed = psycopg.conninfo.conninfo_to_dict(joined)
    assert parsed.get("user", "") == user and parsed.get("password", "") == password
