"""saas_enter_tenant(): everything a transaction needs, and the search_path last.

Each statement inside the function has a cached plan that PostgreSQL re-plans whenever
the search_path differs from the one it was planned under; a schema tenant's path
differs from the previous transaction's almost every time. So the path is the
function's last step, and every other step runs under the path the plans were made for.
"""

import re

import pytest
from django.db import connections, transaction

from tenants.context import tenant_scope
from tenants.fair_share import statement_slots
from tenants.routers import data_alias
from tests.conftest import make_tenant


def _body(alias: str = "default") -> str:
    with connections[alias].cursor() as cur:
        cur.execute(
            "SELECT prosrc FROM pg_proc WHERE proname = 'saas_enter_tenant' "
            "AND pronamespace = 'public'::regnamespace AND pronargs = 7"
        )
        return cur.fetchone()[0]


def _statements(text: str) -> list[str]:
    without_comments = re.sub(r"--[^\n]*", "", text)
    return [s.strip() for s in without_comments.split(";") if s.strip()]


@pytest.mark.django_db
def test_the_installed_function_sets_the_search_path_as_its_last_step():
    body = _body()
    _, after = body.split("set_config('search_path', p_search_path, true)", 1)

    # Only the ends of the IF and of the function follow it.
    assert _statements(after) == ["END IF", "END"]
    assert body.index("'statement_timeout'") < body.index("'search_path'")
    assert body.index("pg_try_advisory_xact_lock") < body.index("'search_path'")


def test_a_transaction_runs_with_the_tenants_path_timeout_and_slot_in_every_mode(
    committed_db, mode
):
    tenant = make_tenant(mode, "enter")
    alias = data_alias(tenant)
    with (
        tenant_scope(tenant),
        transaction.atomic(using=alias),
        connections[alias].cursor() as cur,
    ):
        cur.execute(
            "SELECT current_setting('app.current_tenant'), current_schemas(false), "
            "(SELECT setting::int FROM pg_settings WHERE name = 'statement_timeout'), "
            "(SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' "
            " AND pid = pg_backend_pid() AND mode = 'ExclusiveLock')"
        )
        current, schemas, timeout, slots = cur.fetchone()

    assert current == str(tenant.pk)
    if mode == "schema":
        assert schemas[0] == tenant.schema_name
    else:
        assert schemas == ["public"]
    assert timeout == tenant._plan_statement_timeout()
    assert slots == (1 if statement_slots()[0] > 0 else 0)
