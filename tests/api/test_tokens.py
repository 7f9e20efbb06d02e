"""API token lifecycle: create, use, scope refusals, expiry, revoke, rotate; lookup cost; command."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import ApiToken
from accounts.services import token_authenticate
from tenants.context import tenant_scope
from tests.api.conftest import ApiTestClient, host_of, mint

pytestmark = pytest.mark.django_db


def _client(tenant, secret=None):
    return ApiTestClient(host_of(tenant), secret)


def test_create_use_list_and_secret_shown_once(tenant_a):
    admin = _client(tenant_a, mint(tenant_a, ["admin"]))
    created = admin.post(
        "/api/v1/tokens/", {"name": "ci", "scopes": ["read", "write"]}, format="json"
    )
    assert created.status_code == 201, created.content
    body = created.json()
    secret = body["secret"]
    assert secret.startswith("tntr_") and body["prefix"] in secret
    assert body["scopes"] == ["read", "write"]

    # Stored only as a hash; never shown again.
    with tenant_scope(tenant_a):
        row = ApiToken.objects.get(pk=body["id"])
    assert secret.split("_", 2)[2] not in (row.secret_hash, row.key_id, row.name)
    listed = admin.get("/api/v1/tokens/").json()
    assert body["id"] in [t["id"] for t in listed["results"]]
    assert secret not in admin.get("/api/v1/tokens/").content.decode()
    assert "secret" not in admin.get(f"/api/v1/tokens/{body['id']}/").json()

    # It works, and last_used_at is recorded.
    ci = _client(tenant_a, secret)
    assert ci.post("/api/v1/projects/", {"name": "from ci"}, format="json").status_code == 201
    with tenant_scope(tenant_a):
        assert ApiToken.objects.get(pk=body["id"]).last_used_at is not None


@pytest.mark.parametrize(
    ("scopes", "method", "url", "expected"),
    [
        (["read"], "get", "/api/v1/projects/", 200),
        (["read"], "get", "/api/v1/usage/", 200),
        (["read"], "post", "/api/v1/projects/", 403),
        (["read"], "get", "/api/v1/members/", 403),
        (["write"], "post", "/api/v1/projects/", 201),
        (["write"], "get", "/api/v1/projects/", 200),
        (["write"], "get", "/api/v1/tokens/", 403),
        (["write"], "post", "/api/v1/tokens/", 403),
        (["write"], "get", "/api/v1/invitations/", 403),
        (["admin"], "get", "/api/v1/members/", 200),
        (["admin"], "post", "/api/v1/projects/", 201),
    ],
)
def test_scopes(tenant_a, scopes, method, url, expected):
    client = _client(tenant_a, mint(tenant_a, scopes))
    response = getattr(client, method)(url, {"name": "p", "scopes": ["read"]}, format="json")
    assert response.status_code == expected, response.content
    if expected == 403:
        assert response.json()["error"]["code"] == "insufficient_scope"


def test_expired_token_is_401(tenant_a):
    secret = mint(tenant_a, ["read"], expires_in_days=1)
    client = _client(tenant_a, secret)
    assert client.get("/api/v1/projects/").status_code == 200
    with tenant_scope(tenant_a):
        ApiToken.objects.filter(tenant_id=tenant_a.pk).update(
            expires_at=timezone.now() - timedelta(seconds=1)
        )
    response = client.get("/api/v1/projects/")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="api"'
    assert response.json()["error"]["code"] == "authentication_failed"


def test_revoke_takes_effect_on_the_next_request(tenant_a):
    admin = _client(tenant_a, mint(tenant_a, ["admin"]))
    issued = admin.post("/api/v1/tokens/", {"name": "x", "scopes": ["read"]}, format="json").json()
    victim = _client(tenant_a, issued["secret"])
    assert victim.get("/api/v1/projects/").status_code == 200
    assert admin.delete(f"/api/v1/tokens/{issued['id']}/").status_code == 204
    assert victim.get("/api/v1/projects/").status_code == 401
    assert admin.get(f"/api/v1/tokens/{issued['id']}/").json()["revoked_at"] is not None


def test_a_token_can_revoke_itself(tenant_a):
    secret = mint(tenant_a, ["admin"])
    client = _client(tenant_a, secret)
    own = client.get("/api/v1/tokens/").json()["results"][0]["id"]
    assert client.delete(f"/api/v1/tokens/{own}/").status_code == 204
    assert client.get("/api/v1/tokens/").status_code == 401


def test_rotate(tenant_a):
    admin = _client(tenant_a, mint(tenant_a, ["admin"]))
    old = admin.post(
        "/api/v1/tokens/",
        {"name": "deploy", "scopes": ["write"], "expires_in_days": 30},
        format="json",
    ).json()
    rotated = admin.post(f"/api/v1/tokens/{old['id']}/rotate/")
    assert rotated.status_code == 201, rotated.content
    new = rotated.json()
    assert new["id"] != old["id"] and new["secret"] != old["secret"]
    assert (new["name"], new["scopes"]) == ("deploy", ["write"])
    assert new["expires_at"] is not None
    assert _client(tenant_a, old["secret"]).get("/api/v1/projects/").status_code == 401
    assert _client(tenant_a, new["secret"]).get("/api/v1/projects/").status_code == 200


@pytest.mark.parametrize(
    "header",
    [
        "Bearer",
        "Bearer ",
        "Basic dXNlcjpwYXNz",
        "Bearer tntr_nope",
        "Bearer tntr_000000000000_wrongsecret",
        "Bearer not-a-token at all",
        "Token tntr_x_y",
    ],
)
def test_bad_credentials_are_401_with_www_authenticate(tenant_a, header):
    mint(tenant_a, ["admin"])
    client = ApiTestClient(host_of(tenant_a))
    response = client.get("/api/v1/projects/", HTTP_AUTHORIZATION=header)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="api"'
    assert set(response.json()["error"]) == {"code", "message"}


def test_right_key_id_wrong_secret_is_401(tenant_a):
    secret = mint(tenant_a, ["admin"])
    forged = secret[: secret.rindex("_") + 1] + "x" * 43
    assert _client(tenant_a, forged).get("/api/v1/projects/").status_code == 401


def test_missing_token_is_401(tenant_a):
    response = ApiTestClient(host_of(tenant_a)).get("/api/v1/projects/")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="api"'
    assert response.json()["error"]["code"] == "not_authenticated"


def test_token_lookup_is_one_indexed_query(tenant_a, django_assert_num_queries):
    secret = mint(tenant_a, ["read"])
    with tenant_scope(tenant_a):
        token_authenticate(tenant=tenant_a, raw=secret)  # first use writes last_used_at
        with CaptureQueriesContext(connection) as ctx:
            token = token_authenticate(tenant=tenant_a, raw=secret)
        assert token is not None
        assert len(ctx.captured_queries) == 1
        sql = ctx.captured_queries[0]["sql"]
        assert '"key_id" =' in sql and "LIMIT 1" in sql
        # key_id is UNIQUE, hence indexed; the plan uses that index.
        with connection.cursor() as cur:
            cur.execute("SET LOCAL enable_seqscan = off")
            cur.execute("EXPLAIN " + sql.replace("LIMIT 1", "").split(" ORDER BY ")[0])
            plan = " ".join(r[0] for r in cur.fetchall())
        assert "Index" in plan, plan
        with django_assert_num_queries(1):
            assert token_authenticate(tenant=tenant_a, raw=secret + "x") is None


def test_whole_request_token_cost(tenant_a):
    """The token costs one query per request (plus the plan read and the view's own)."""
    client = _client(tenant_a, mint(tenant_a, ["read"]))
    client.get("/api/v1/plan/")
    with CaptureQueriesContext(connection) as ctx:
        assert client.get("/api/v1/plan/").status_code == 200
    token_queries = [q for q in ctx.captured_queries if "accounts_apitoken" in q["sql"]]
    assert len(token_queries) == 1


def test_create_api_token_command(tenant_a):
    out, err = StringIO(), StringIO()
    call_command(
        "create_api_token",
        tenant_a.subdomain,
        "--name",
        "automation",
        "--scopes",
        "read,write",
        "--expires-in-days",
        "7",
        stdout=out,
        stderr=err,
    )
    secret = out.getvalue().strip()
    assert secret.startswith("tntr_") and "\n" not in secret
    assert "automation" in err.getvalue() and secret not in err.getvalue()
    client = _client(tenant_a, secret)
    assert client.post("/api/v1/projects/", {"name": "cmd"}, format="json").status_code == 201
    assert client.get("/api/v1/tokens/").status_code == 403  # no admin scope
    with tenant_scope(tenant_a):
        token = ApiToken.objects.get(name="automation")
    assert token.scopes == ["read", "write"] and token.expires_at is not None


@pytest.mark.parametrize(
    "args",
    [
        ["no-such-tenant", "--name", "x", "--scopes", "read"],
        ["{sub}", "--name", "x", "--scopes", "root"],
        ["{sub}", "--name", "x", "--scopes", ""],
        ["{sub}", "--name", " ", "--scopes", "read"],
        ["{sub}", "--name", "x", "--scopes", "read", "--expires-in-days", "0"],
    ],
)
def test_create_api_token_command_errors(tenant_a, args):
    args = [a.format(sub=tenant_a.subdomain) for a in args]
    out = StringIO()
    with pytest.raises(CommandError):
        call_command("create_api_token", *args, stdout=out, stderr=StringIO())
    assert "tntr_" not in out.getvalue()
    with tenant_scope(tenant_a):
        assert ApiToken.objects.count() == 0
