"""After any failed statement the cursor re-sends the context; COPY and streaming carry it."""

from __future__ import annotations

import uuid

import psycopg
import pytest
from django.db import DatabaseError, connection, transaction

from tenants.context import no_tenant, tenant_scope
from tests.conftest import unique_subdomain
from tests.factories import ProjectFactory, TenantFactory

pytestmark = [pytest.mark.isolation]


@pytest.fixture
def a_and_b(committed_db):
    a = TenantFactory(subdomain=unique_subdomain("cur-a"))
    b = TenantFactory(subdomain=unique_subdomain("cur-b"))
    ProjectFactory(tenant=a, name="a-secret")
    ProjectFactory(tenant=b, name="b-own")
    return a, b


def _names(cur) -> set[str]:
    cur.execute("SELECT name FROM projects_project")
    return {r[0] for r in cur.fetchall()}


def test_failed_executemany_does_not_leave_the_previous_tenant(a_and_b):
    a, b = a_and_b
    with transaction.atomic(), connection.cursor() as cur:
        with tenant_scope(a):
            assert _names(cur) == {"a-secret"}
        with tenant_scope(b):
            with pytest.raises(DatabaseError):
                # The second row breaks a constraint: psycopg rolls back the savepoint
                # the batch ran in, and with it the SET LOCAL of tenant b.
                cur.executemany(
                    "INSERT INTO projects_project (id, tenant_id, name, description, "
                    "created_at, updated_at) VALUES (%s, %s, %s, '', now(), now())",
                    [(uuid.uuid4(), b.pk, "ok"), (uuid.uuid4(), b.pk, None)],
                )
            assert _names(cur) == {"b-own"}
        transaction.set_rollback(True)


def test_failed_copy_does_not_leave_the_previous_tenant(a_and_b):
    a, b = a_and_b
    with transaction.atomic(), connection.cursor() as cur:
        with tenant_scope(a):
            assert _names(cur) == {"a-secret"}
        with tenant_scope(b):
            with (
                pytest.raises(psycopg.Error),  # COPY FROM is refused under RLS: a failed COPY
                cur.copy("COPY projects_project (name) FROM STDIN") as copy,
            ):
                copy.write_row([None])
            assert _names(cur) == {"b-own"}
        transaction.set_rollback(True)


def test_copy_and_stream_carry_the_context(a_and_b):
    a, _ = a_and_b
    with tenant_scope(a), connection.cursor() as cur:
        with cur.copy("COPY (SELECT name FROM projects_project) TO STDOUT") as copy:
            rows = [bytes(row).decode().strip() for row in copy]
        assert rows == ["a-secret"]
        streamed = [r[0] for r in cur.cursor.stream("SELECT name FROM projects_project")]
        assert streamed == ["a-secret"]
    with (
        no_tenant(),
        connection.cursor() as cur,
        cur.copy("COPY (SELECT name FROM projects_project) TO STDOUT") as copy,
    ):
        assert list(copy) == []
