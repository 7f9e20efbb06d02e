"""Keys between tenant tables stay inside one tenant, and their errors reveal nothing.

A foreign-key check ignores RLS: with a plain key, the database accepts a row
that points at another tenant's user, and refuses an id that exists nowhere —
an existence oracle. Every key between tenant tables is the same-tenant
composite one only: both cases fail the same constraint with the same error,
and the API answers both with the same 400.
"""

from __future__ import annotations

import uuid

import pytest
from django.db import IntegrityError, connection

from accounts.models import User
from api.exceptions import api_exception_handler
from projects.models import Project
from projects.services import project_create
from tenants.context import tenant_scope
from tests.conftest import make_tenant
from tests.factories import ProjectFactory, UserFactory

pytestmark = pytest.mark.isolation


def _refusal(tenant, created_by) -> IntegrityError:
    with tenant_scope(tenant), pytest.raises(IntegrityError) as caught:
        project_create(tenant=tenant, created_by=created_by, name="crossing")
    return caught.value


def _same(text: str, *ids) -> str:
    for value in ids:
        text = text.replace(str(value), "<id>")
    return text


def test_a_project_created_by_another_tenants_user_is_refused_like_a_random_id(committed_db):
    a, b = make_tenant("shared", "fk-a"), make_tenant("shared", "fk-b")
    foreign = UserFactory(tenant=b)
    nobody = User(id=uuid.uuid4(), tenant_id=a.pk, email="nobody@a.test")

    crossing, missing = _refusal(a, foreign), _refusal(a, nobody)

    for exc in (crossing, missing):
        assert exc.__cause__.diag.constraint_name == "projects_project_created_by_id_same_tenant"
    assert crossing.__cause__.sqlstate == missing.__cause__.sqlstate == "23503"
    assert _same(str(crossing), foreign.pk) == _same(str(missing), nobody.pk)
    with tenant_scope(a):
        assert Project.objects.filter(name="crossing").count() == 0  # nothing was committed

    # The API answers both as the same validation error, naming the field only.
    answers = [api_exception_handler(exc, {}) for exc in (crossing, missing)]
    assert [r.status_code for r in answers] == [400, 400]
    assert (
        answers[0].data
        == answers[1].data
        == {
            "error": {
                "code": "invalid",
                "message": "The request is invalid.",
                "fields": {"created_by": ["Does not exist."]},
            }
        }
    )


def test_the_api_answers_another_tenants_user_like_a_random_id(committed_db):
    from tests.api.conftest import ApiTestClient, host_of, mint

    a, b = make_tenant("shared", "fk-api-a"), make_tenant("shared", "fk-api-b")
    project = ProjectFactory(tenant=a)
    foreign = UserFactory(tenant=b)
    api = ApiTestClient(host_of(a), mint(a))
    url = f"/api/v1/projects/{project.pk}/tasks/"
    answers = []
    for candidate in (foreign.pk, uuid.uuid4()):
        response = api.post(url, {"title": "t", "assignee": str(candidate)}, format="json")
        answers.append((response.status_code, _same(response.content.decode(), candidate)))
    assert answers[0] == answers[1]
    assert answers[0][0] == 400 and '"assignee"' in answers[0][1]


KEYS = """
SELECT c.conname, c.conrelid::regclass::text, c.confrelid::regclass::text,
       ARRAY(SELECT a.attname::text FROM unnest(c.conkey) WITH ORDINALITY k(num, i)
             JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.num ORDER BY k.i),
       ARRAY(SELECT a.attname::text FROM unnest(c.confkey) WITH ORDINALITY k(num, i)
             JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.num ORDER BY k.i)
FROM pg_constraint c
JOIN pg_namespace n ON n.oid = c.connamespace AND n.nspname = 'public'
WHERE c.contype = 'f'
  AND EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.conrelid
              AND a.attname = 'tenant_id' AND NOT a.attisdropped)
  AND EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.confrelid
              AND a.attname = 'tenant_id' AND NOT a.attisdropped)
ORDER BY 1
"""


def test_every_key_between_tenant_tables_is_a_same_tenant_key(db):
    """Found in the catalog: a key added later without AddSameTenantForeignKey fails here."""
    with connection.cursor() as cur:
        cur.execute(KEYS)
        keys = cur.fetchall()
    assert keys, "expected keys between tenant tables"
    plain = [
        f"{name}: {table}{tuple(cols)} → {target}{tuple(ref)}"
        for name, table, target, cols, ref in keys
        if "tenant_id" not in cols
        or "tenant_id" not in ref
        or cols.index("tenant_id") != ref.index("tenant_id")
    ]
    assert plain == []
    names = {name for name, *_ in keys}
    for expected in (
        "projects_project_created_by_id_same_tenant",
        "projects_task_assignee_id_same_tenant",
        "projects_task_project_id_same_tenant",
        "accounts_invitation_invited_by_id_same_tenant",
        "accounts_apitoken_created_by_id_same_tenant",
        "billing_invoiceline_invoice_id_same_tenant",
        "webhooks_webhookdelivery_endpoint_id_same_tenant",
        "webhooks_webhookattempt_delivery_id_same_tenant",
    ):
        assert expected in names


def test_deleting_a_user_clears_the_reference_only(committed_db):
    tenant = make_tenant("shared", "fk-del")
    user = UserFactory(tenant=tenant)
    with tenant_scope(tenant):
        project = project_create(tenant=tenant, created_by=user, name="kept")
        with connection.cursor() as cur:  # the database's own action, not Django's emulation
            cur.execute("DELETE FROM accounts_user WHERE id = %s", [user.pk])
        project.refresh_from_db()
    assert project.created_by_id is None and project.tenant_id == tenant.pk
