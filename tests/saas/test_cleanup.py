"""Test databases go with every tenant database their tenants used, moves included."""

from __future__ import annotations

import json

import psycopg
import pytest
from django.conf import settings

from tenants.database_config import admin_conninfo
from tests.shell import fresh_database, fresh_env, run

pytestmark = pytest.mark.slow


def _databases() -> set[str]:
    with psycopg.connect(admin_conninfo(settings.DATABASE_URL, "postgres")) as c:
        return {r[0] for r in c.execute("SELECT datname FROM pg_database")}


def test_dropping_a_test_database_drops_the_tenant_databases_moves_created(test_database_url):
    with fresh_database("cleanup") as url:
        env = fresh_env(DATABASE_URL=url)
        for step in (
            "./manage.py migrate --noinput -v 0",
            "./manage.py create_tenant --name Provisioned --subdomain prov --isolation database",
            "./manage.py create_tenant --name Moved --subdomain moved",
            "./manage.py move_tenant moved --to database",
            "./manage.py list_tenants --json --no-counts",
        ):
            result = run(step, env)
            assert result.returncode == 0, (step, result.stderr)
        names = {r["placement"].split()[1] for r in json.loads(result.stdout)}
        main = url.rsplit("/", 1)[1]
        # Provisioned or made by a move, a tenant database is named after the main database.
        assert len(names) == 2 and all(n.startswith(f"{main}_t_") for n in names), names
        assert names | {main} <= _databases()
    assert not (names | {main, f"{main}_tmpl"}) & _databases()
