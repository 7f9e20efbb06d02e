"""A Django transaction's BEGIN rides on its first statement; nothing escapes the transaction.

psycopg stays in autocommit at the driver level (tenants/db/base.py): the backend sends
`BEGIN; <enter>; <statement>` as one message. These tests hold it to what Django's
atomic() promises: one transaction, rolled back as one, whichever cursor call comes first.
"""

from __future__ import annotations

import uuid

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from projects.models import Project
from tenants.context import tenant_scope
from tests.conftest import unique_subdomain
from tests.factories import TenantFactory

pytestmark = [pytest.mark.isolation]

INSERT = (
    "INSERT INTO projects_project (id, tenant_id, name, description, created_at, updated_at) "
    "VALUES (%s, %s, %s, '', now(), now())"
)


@pytest.fixture
def tenant(committed_db):
    return TenantFactory(subdomain=unique_subdomain("begin"))


class Boom(Exception):
    pass


def _names(tenant) -> set[str]:
    with tenant_scope(tenant):
        return set(Project.objects.values_list("name", flat=True))


def _sent(ctx) -> list[str]:
    """What went to the server (Django also records its transaction calls as "BEGIN"/"COMMIT")."""
    return [q["sql"] for q in ctx.captured_queries if q["sql"] not in ("BEGIN", "COMMIT")]


def _txid(cur) -> int:
    cur.execute("SELECT txid_current()")
    return cur.fetchone()[0]


def test_the_first_statement_carries_begin_and_the_block_is_one_transaction(tenant):
    with tenant_scope(tenant), CaptureQueriesContext(connection) as ctx:
        with transaction.atomic(), connection.cursor() as cur:
            first, second = _txid(cur), _txid(cur)
        with connection.cursor() as cur:
            outside = _txid(cur)
    assert first == second != outside
    sent = _sent(ctx)
    assert len(sent) == 3 and sent[0].startswith("BEGIN; SELECT public.saas_enter_tenant("), sent
    assert sent[1] == "SELECT txid_current()", sent


def test_an_empty_block_sends_nothing(tenant):
    with tenant_scope(tenant), CaptureQueriesContext(connection) as ctx, transaction.atomic():
        pass
    assert _sent(ctx) == []
    assert connection.connection.info.transaction_status.name == "IDLE"


@pytest.mark.parametrize("first", ["execute", "executemany", "copy"])
def test_whatever_comes_first_rolls_back_with_the_block(tenant, first):
    with tenant_scope(tenant), pytest.raises(Boom), transaction.atomic():
        with connection.cursor() as cur:
            if first == "execute":
                cur.execute(INSERT, [uuid.uuid4(), tenant.pk, "one"])
            elif first == "executemany":
                # Before BEGIN rode on the first statement, psycopg's own transaction()
                # around executemany would have committed here on its own.
                cur.executemany(INSERT, [(uuid.uuid4(), tenant.pk, "one")])
            else:  # COPY FROM is refused under RLS: a COPY TO opens the block instead
                with cur.copy("COPY (SELECT name FROM projects_project) TO STDOUT") as copy:
                    list(copy)
            cur.execute(INSERT, [uuid.uuid4(), tenant.pk, "two"])
        raise Boom
    assert _names(tenant) == set()
    with tenant_scope(tenant), transaction.atomic(), connection.cursor() as cur:
        cur.executemany(INSERT, [(uuid.uuid4(), tenant.pk, "kept")])
    assert _names(tenant) == {"kept"}


def test_a_savepoint_first_then_a_failure_keeps_the_outer_work(tenant):
    with tenant_scope(tenant), transaction.atomic():
        try:
            with transaction.atomic(), connection.cursor() as cur:
                cur.execute(INSERT, [uuid.uuid4(), tenant.pk, "inner"])
                cur.execute(INSERT, [uuid.uuid4(), tenant.pk, None])  # NOT NULL: fails
        except Exception:
            pass
        with connection.cursor() as cur:
            cur.execute(INSERT, [uuid.uuid4(), tenant.pk, "outer"])
    assert _names(tenant) == {"outer"}
