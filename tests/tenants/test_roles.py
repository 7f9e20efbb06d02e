"""The app role's rights on control-plane tables are what the request path needs, no more.

Every tenant request runs as the app role: whatever it can do, a bug or an
injection in a request can do. It reads the registry and the plans and never
writes them; it cannot touch move records, operators or operator sessions.
"""

from __future__ import annotations

import pytest
from django.db import ProgrammingError, connections, transaction

pytestmark = pytest.mark.isolation


def _as(alias: str, statement: str):
    connection = connections[alias]
    with transaction.atomic(using=alias), connection.cursor() as cur:
        cur.execute(statement)
        return cur.rowcount


def _refused(statement: str) -> bool:
    try:
        _as("default", statement)
    except ProgrammingError as exc:
        assert "permission denied" in str(exc), exc
        return True
    return False


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE tenants_tenant SET status = 'active'",
        "UPDATE tenants_tenant SET plan_id = plan_id",
        "DELETE FROM tenants_tenant",
        "UPDATE billing_plan SET max_projects = 1000000",
        "INSERT INTO billing_plan (code) VALUES ('mine')",
        "UPDATE tenants_databaseserver SET address = address",
        "SELECT count(*) FROM tenants_databaseserverlogin",
        "UPDATE tenants_databaseserverlogin SET password = ''",
        "DELETE FROM tenants_databaseserver",
        "SELECT count(*) FROM tenants_tenantmove",
        "SELECT count(*) FROM operators_operator",
        "UPDATE operators_operator SET is_active = true",
        "SELECT count(*) FROM operators_operatorsession",
        "TRUNCATE projects_project",
    ],
)
def test_the_app_role_is_refused(db, statement):
    assert _refused(statement), f"the app role may: {statement}"


@pytest.mark.parametrize(
    "statement",
    [
        "SELECT count(*) FROM tenants_tenant",
        "SELECT count(*) FROM billing_plan",
        "SELECT count(*) FROM tenants_databaseserver",
    ],
)
def test_the_app_role_reads_what_requests_need(db, statement):
    assert not _refused(statement)


def test_the_operator_role_reaches_the_operator_tables(db):
    for table in (
        "operators_operator",
        "operators_operatorsession",
        "tenants_tenantmove",
        "tenants_databaseserverlogin",
    ):
        _as("operator", f"SELECT count(*) FROM {table}")


def test_an_operator_session_is_stored_where_the_app_role_cannot_read_it(db):
    from django.conf import settings
    from django.test import Client

    from accounts.models import PlatformSession
    from operators.models import OperatorSession
    from operators.services import operator_create

    operator = operator_create(email="roles-check@tenantry.test", password="operator-password-1")
    console = Client(HTTP_HOST=f"admin.{settings.BASE_DOMAIN}")
    response = console.post("/login/", {"email": operator.email, "password": "operator-password-1"})
    assert response.status_code == 302, response.content.decode()[-1500:]
    key = console.cookies[settings.SESSION_COOKIE_NAME].value
    assert OperatorSession.objects.filter(session_key=key).exists()  # the operator alias
    assert not PlatformSession.objects.filter(session_key=key).exists()  # app-readable table
    assert _refused("SELECT count(*) FROM operators_operatorsession")
