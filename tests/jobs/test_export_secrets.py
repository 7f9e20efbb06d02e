"""A customer export (what tenant admins download) carries no secret, through the real door."""

from __future__ import annotations

import json
import re

import pytest
from django.conf import settings
from django.db import connections

from accounts.invitations import invitation_create
from accounts.services import token_create
from tenants.context import tenant_scope
from tenants.export import CUSTOMER, export_models, tenant_models
from tenants.models import Tenant
from tests.conftest import make_tenant
from tests.factories import ProjectFactory, UserFactory
from tests.live import LiveServer, http, login

# Column names that authenticate somebody, or are for operators only. Found by name over
# every tenant-owned model and the registry, so a new secret column is covered unasked.
SECRET_NAME = re.compile(
    r"password|session|token|secret|hash|nonce|reset|otp|signature|credential|private"
    r"|status_reason|payment_reference",
    re.IGNORECASE,
)
PASSWORD = "long-enough-pw-1"


def secret_columns() -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for model in [*tenant_models(), Tenant]:
        for field in model._meta.concrete_fields:
            if SECRET_NAME.search(field.name) or SECRET_NAME.search(field.column):
                found.setdefault(model._meta.label, set()).add(field.name)
    return found


def test_the_scan_knows_the_secret_columns():
    columns = secret_columns()
    assert {"password"} <= columns["accounts.User"]
    assert {"session_key", "session_data"} <= columns["accounts.TenantSession"]
    assert {"token_hash"} <= columns["accounts.Invitation"]
    assert {"secret_hash"} <= columns["accounts.ApiToken"]
    assert {"status_reason"} <= columns["tenants.Tenant"]


def test_every_tenant_model_decides_what_it_exports():
    undecided = [m._meta.label for m in tenant_models() if m.export_fields is None]
    assert not undecided, (
        f"{undecided}: declare `export_fields` (the customer export's allow-list; () for none)"
    )
    columns = secret_columns()
    for model, fields in export_models(CUSTOMER):
        leaked = set(fields) & columns.get(model._meta.label, set())
        assert not leaked, f"{model._meta.label} exports secret columns {leaked}"


def _stored(sql, params) -> list:
    with connections["operator"].cursor() as cur:
        cur.execute(sql, params)
        return [r[0] for r in cur.fetchall()]


@pytest.mark.slow
def test_customer_export_holds_no_secret_and_no_replayable_session(committed_db, test_database_url):
    tenant = make_tenant("shared", "secrets")
    host = f"{tenant.subdomain}.{settings.BASE_DOMAIN}"
    owner = UserFactory(tenant=tenant, email="owner@example.com", role="owner", password=PASSWORD)
    admin = UserFactory(tenant=tenant, email="admin@example.com", role="admin", password=PASSWORD)
    ProjectFactory(tenant=tenant, name="ordinary data", created_by=owner)
    with tenant_scope(tenant):
        invitation = invitation_create(tenant=tenant, email="new@example.com", invited_by=owner)
        token = token_create(tenant=tenant, name="ci", scopes=["read"], created_by=owner)

    with LiveServer(test_database_url) as server:
        status, owner_cookies = login(server, host, owner.email, PASSWORD)
        assert status == 302
        status, cookies = login(server, host, admin.email, PASSWORD)
        assert status == 302
        cookie = "; ".join(f"{k}={v}" for k, v in cookies.items())
        status, _, body = http(
            "POST",
            f"{server.url}/exports/",
            host,
            body=b"",
            headers={"Cookie": cookie, "X-CSRFToken": cookies["csrftoken"]},
        )
        assert status == 202, body
        job = json.loads(body)
        assert job["status"] == "succeeded", job
        status, _, export = http(
            "GET", f"{server.url}{job['download']}", host, headers={"Cookie": cookie}
        )
        assert status == 200
        text = export.decode()

        rows = [json.loads(line) for line in text.splitlines()]
        header, rows = rows[0], rows[1:]
        assert header["kind"] == "customer"
        assert any(r["fields"].get("name") == "ordinary data" for r in rows)
        columns = secret_columns()
        for row in rows:
            assert row["model"] != "accounts.tenantsession"
            label = next(
                m._meta.label for m in tenant_models() if m._meta.label_lower == row["model"]
            )
            assert not set(row["fields"]) & columns.get(label, set()), row

        session_keys = _stored(
            "SELECT session_key FROM accounts_tenantsession WHERE tenant_id = %s", [tenant.pk]
        )
        assert len(session_keys) >= 2
        secrets = {
            "owner's session cookie": owner_cookies["sessionid"],
            "admin's session cookie": cookies["sessionid"],
            "password hash": _stored(
                "SELECT password FROM accounts_user WHERE id = %s", [owner.pk]
            )[0],
            "invitation token": invitation.token,
            "invitation token hash": invitation.invitation.token_hash,
            "API token": token.secret,
            "API token hash": token.token.secret_hash,
            **{f"stored session key {i}": k for i, k in enumerate(session_keys)},
        }
        for what, value in secrets.items():
            assert value and value not in text, f"the customer export carries the {what}"

        # What a dump of the session table holds cannot be replayed as a cookie.
        for stored_key in session_keys:
            status, headers, _ = http(
                "GET", f"{server.url}/", host, headers={"Cookie": f"sessionid={stored_key}"}
            )
            assert status == 302 and "/accounts/login/" in headers["Location"], stored_key
        status, _, _ = http(
            "GET",
            f"{server.url}/",
            host,
            headers={"Cookie": f"sessionid={owner_cookies['sessionid']}"},
        )
        assert status == 200  # the real cookie still works: the replay was refused, not all
