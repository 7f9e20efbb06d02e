"""Idempotency-Key on API writes: replay, mismatch, validation, scope, atomicity, purge."""

from __future__ import annotations

import json
import threading
from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from accounts.models import ApiToken
from idempotency.models import IdempotencyRecord
from idempotency.services import RETENTION
from idempotency.tasks import purge_expired
from projects.models import Project
from tenants.context import tenant_scope
from tests.api.conftest import ApiTestClient, host_of, mint
from tests.conftest import make_tenant, unique_subdomain
from tests.factories import TenantFactory
from tests.live import LiveServer, http


def _post(api, key, body, url="/api/v1/projects/"):
    return api.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY=key)


def _projects(tenant) -> list[str]:
    with tenant_scope(tenant):
        return sorted(Project.objects.filter(tenant_id=tenant.pk).values_list("name", flat=True))


def test_same_key_twice_creates_one_project_and_replays(db, tenant_a, api_for):
    api = api_for(tenant_a, ["write"])
    first = _post(api, "key-1", {"name": "once"})
    second = _post(api, "key-1", {"name": "once"})
    assert first.status_code == second.status_code == 201
    assert second.content == first.content
    assert second["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first
    assert second["Location"] == first["Location"] and second["ETag"] == first["ETag"]
    assert second["Content-Type"] == "application/json"
    assert "X-RateLimit-Remaining" in second  # the retry's own headers, not the stored ones
    assert _projects(tenant_a) == ["once"]


def test_without_a_key_each_post_writes(db, tenant_a, api_for):
    api = api_for(tenant_a, ["write"])
    for _ in range(2):
        assert api.post("/api/v1/projects/", {"name": "p"}, format="json").status_code == 201
    assert _projects(tenant_a) == ["p", "p"]


@pytest.mark.parametrize(
    ("method", "url", "body"),
    [
        ("post", "/api/v1/projects/", {"name": "other"}),  # different body
        ("post", "/api/v1/projects/?x=1", {"name": "first"}),  # different path
    ],
)
def test_same_key_for_another_request_is_422(db, tenant_a, api_for, method, url, body):
    api = api_for(tenant_a, ["write"])
    assert _post(api, "k", {"name": "first"}).status_code == 201
    again = getattr(api, method)(url, body, format="json", HTTP_IDEMPOTENCY_KEY="k")
    assert again.status_code == 422
    assert again.json()["error"]["code"] == "idempotency_key_reused"
    assert _projects(tenant_a) == ["first"]


def test_same_key_on_another_method_is_422(db, tenant_a, api_for):
    api = api_for(tenant_a, ["write"])
    created = _post(api, "k", {"name": "first"})
    url = created["Location"]
    patched = api.patch(url, {"name": "first"}, format="json", HTTP_IDEMPOTENCY_KEY="k")
    assert patched.status_code == 422


@pytest.mark.parametrize("key", ["", "x" * 256, "tab\there", "caf\u00e9"])
def test_malformed_key_is_400_in_the_envelope(db, tenant_a, api_for, key):
    api = api_for(tenant_a, ["write"])
    response = _post(api, key, {"name": "p"})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid" and "Idempotency-Key" in error["fields"]
    assert _projects(tenant_a) == []


def test_longest_and_odd_printable_keys_are_accepted(db, tenant_a, api_for):
    api = api_for(tenant_a, ["write"])
    assert _post(api, "k" * 255, {"name": "a"}).status_code == 201
    assert _post(api, " !~{}\"'", {"name": "b"}).status_code == 201


def test_updates_and_deletes_replay(db, tenant_a, api_for):
    api = api_for(tenant_a, ["write"])
    url = api.post("/api/v1/projects/", {"name": "p"}, format="json")["Location"]
    one = api.patch(url, {"name": "q"}, format="json", HTTP_IDEMPOTENCY_KEY="u")
    two = api.patch(url, {"name": "q"}, format="json", HTTP_IDEMPOTENCY_KEY="u")
    assert one.status_code == two.status_code == 200 and one.content == two.content
    gone = api.delete(url, HTTP_IDEMPOTENCY_KEY="d")
    again = api.delete(url, HTTP_IDEMPOTENCY_KEY="d")
    assert gone.status_code == again.status_code == 204
    assert again["Idempotent-Replayed"] == "true" and again.content == b""
    assert api.delete(url, HTTP_IDEMPOTENCY_KEY="d2").status_code == 404


def test_client_errors_are_stored_and_replayed(db, tenant_a, api_for):
    api = api_for(tenant_a, ["write"])
    first = _post(api, "bad", {"name": ""})
    second = _post(api, "bad", {"name": ""})
    assert first.status_code == second.status_code == 400
    assert second.content == first.content and second["Idempotent-Replayed"] == "true"


def test_refusals_before_the_view_do_not_use_the_key(db, tenant_a, api_for):
    read_only = api_for(tenant_a, ["read"])
    assert _post(read_only, "k", {"name": "p"}).status_code == 403
    with tenant_scope(tenant_a):
        assert not IdempotencyRecord.objects.filter(tenant_id=tenant_a.pk).exists()


def test_server_error_stores_nothing_and_rolls_the_write_back(db, tenant_a, api_for, monkeypatch):
    api = api_for(tenant_a, ["write"])
    import api.idempotency as mechanism

    def fail(**kwargs):
        raise RuntimeError("crash between the write and its record")

    monkeypatch.setattr(mechanism, "idempotency_store", fail)
    crashed = _post(api, "k", {"name": "p"})
    assert crashed.status_code == 500
    assert _projects(tenant_a) == []  # the write did not commit without its record
    monkeypatch.undo()
    retried = _post(api, "k", {"name": "p"})
    assert retried.status_code == 201 and "Idempotent-Replayed" not in retried
    assert _projects(tenant_a) == ["p"]


def test_a_5xx_from_the_view_is_not_stored(db, tenant_a, api_for, monkeypatch):
    api = api_for(tenant_a, ["write"])
    from projects.api.views import ProjectViewSet

    original = ProjectViewSet.perform_service_create

    def write_then_fail(self, data):
        original(self, data)
        raise RuntimeError("boom")

    monkeypatch.setattr(ProjectViewSet, "perform_service_create", write_then_fail)
    assert _post(api, "k", {"name": "p"}).status_code == 500
    monkeypatch.undo()
    assert _projects(tenant_a) == []
    assert _post(api, "k", {"name": "p"}).status_code == 201
    assert _projects(tenant_a) == ["p"]


def test_token_secret_is_never_stored(db, tenant_a, api_for):
    api = api_for(tenant_a, ["admin"])
    body = {"name": "ci", "scopes": ["read"]}
    first = api.post("/api/v1/tokens/", body, format="json", HTTP_IDEMPOTENCY_KEY="t")
    second = api.post("/api/v1/tokens/", body, format="json", HTTP_IDEMPOTENCY_KEY="t")
    assert first.status_code == second.status_code == 201
    assert first.json()["secret"].startswith("tntr_")
    assert second.json()["secret"] is None
    assert {k: v for k, v in second.json().items() if k != "secret"} == {
        k: v for k, v in first.json().items() if k != "secret"
    }
    with tenant_scope(tenant_a):
        assert ApiToken.objects.filter(name="ci").count() == 1
        stored = bytes(IdempotencyRecord.objects.get(key="t").body)
    assert first.json()["secret"].encode() not in stored


def test_keys_are_per_credential(db, tenant_a, api_for):
    one, two = api_for(tenant_a, ["write"]), api_for(tenant_a, ["write"])
    assert _post(one, "shared", {"name": "one"}).status_code == 201
    other = _post(two, "shared", {"name": "two"})
    assert other.status_code == 201 and "Idempotent-Replayed" not in other
    assert _projects(tenant_a) == ["one", "two"]


def test_a_record_without_a_response_is_409_in_progress(db, tenant_a, api_for):
    """Cannot be committed by the mechanism (claim and response share a transaction); defensive."""
    api = api_for(tenant_a, ["write"])
    assert _post(api, "k", {"name": "p"}).status_code == 201
    with tenant_scope(tenant_a):
        IdempotencyRecord.objects.filter(key="k").update(status_code=None)
    response = _post(api, "k", {"name": "p"})
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "idempotency_in_progress"
    assert _projects(tenant_a) == ["p"]


def test_an_expired_key_is_free_again(db, tenant_a, api_for):
    api = api_for(tenant_a, ["write"])
    assert _post(api, "k", {"name": "old"}).status_code == 201
    with tenant_scope(tenant_a):
        IdempotencyRecord.objects.filter(key="k").update(expires_at=timezone.now())
    fresh = _post(api, "k", {"name": "new"})
    assert fresh.status_code == 201 and "Idempotent-Replayed" not in fresh
    assert _projects(tenant_a) == ["new", "old"]


def test_purge_deletes_only_expired_records_of_every_tenant(db, tenant_a, tenant_b, api_for):
    for tenant in (tenant_a, tenant_b):
        api = api_for(tenant, ["write"])
        _post(api, "old", {"name": "o"})
        _post(api, "new", {"name": "n"})
        with tenant_scope(tenant):
            IdempotencyRecord.objects.filter(key="old").update(
                expires_at=timezone.now() - timedelta(seconds=1)
            )
    result = purge_expired.apply().get()
    assert result["deleted"] >= 2 and result["failed"] == 0
    for tenant in (tenant_a, tenant_b):
        with tenant_scope(tenant):
            keys = list(IdempotencyRecord.objects.values_list("key", flat=True))
            assert keys == ["new"]
            record = IdempotencyRecord.objects.get()
            assert record.expires_at - record.created_at == RETENTION


def test_purge_is_scheduled():
    from saas.celery import app

    tasks = {entry["task"] for entry in app.conf.beat_schedule.values()}
    assert "idempotency.purge_expired" in tasks


@pytest.mark.isolation
def test_replay_and_tenant_scope_in_each_mode(committed_db, mode):
    a = make_tenant(mode, f"idem-{mode[:2]}a")
    b = make_tenant(mode, f"idem-{mode[:2]}b")
    api_a = ApiTestClient(host_of(a), mint(a, ["write"]))
    api_b = ApiTestClient(host_of(b), mint(b, ["write"]))
    first = _post(api_a, "same-key", {"name": f"{mode}-a"})
    replay = _post(api_a, "same-key", {"name": f"{mode}-a"})
    assert first.status_code == replay.status_code == 201
    assert replay.content == first.content and replay["Idempotent-Replayed"] == "true"
    assert _post(api_a, "same-key", {"name": "x"}).status_code == 422
    # B uses A's key with A's body: its own project, never A's stored answer.
    theirs = _post(api_b, "same-key", {"name": f"{mode}-a"})
    assert theirs.status_code == 201 and "Idempotent-Replayed" not in theirs
    assert theirs.json()["id"] != first.json()["id"]
    assert _projects(a) == [f"{mode}-a"] and _projects(b) == [f"{mode}-a"]
    with tenant_scope(a):
        assert IdempotencyRecord.objects.count() == 1
        IdempotencyRecord.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    purge_expired.apply()
    with tenant_scope(a):
        assert IdempotencyRecord.objects.count() == 0
    with tenant_scope(b):
        assert IdempotencyRecord.objects.count() == 1  # not expired: kept


@pytest.mark.slow
def test_parallel_duplicates_write_once(committed_db, test_database_url, mode):
    tenant = make_tenant(mode, f"race-{mode[:2]}")
    secret = mint(tenant, ["write"])
    host = f"{tenant.subdomain}.{settings.BASE_DOMAIN}"
    headers = {
        "Authorization": f"Bearer {secret}",
        "Content-Type": "application/json",
        "Idempotency-Key": "race-1",
    }
    body = json.dumps({"name": "raced"}).encode()
    n = 8
    barrier = threading.Barrier(n)
    results: list[tuple[int, dict, bytes]] = []

    with LiveServer(test_database_url, workers=4) as server:

        def send():
            barrier.wait()
            results.append(http("POST", server.url + "/api/v1/projects/", host, body, headers))

        threads = [threading.Thread(target=send) for _ in range(n)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)

    assert len(results) == n
    assert _projects(tenant) == ["raced"]
    created = [r for r in results if r[0] == 201]
    assert {r[2] for r in created} == {created[0][2]}  # one body, byte for byte
    assert all(r[0] in (201, 409) for r in results), [r[0] for r in results]
    assert sum("Idempotent-Replayed" not in r[1] for r in created) == 1


def test_tenant_b_cannot_see_a_records(db, tenant_a, api_for):
    _post(api_for(tenant_a, ["write"]), "k", {"name": "p"})
    tenant_b = TenantFactory(subdomain=unique_subdomain("idb"))
    with tenant_scope(tenant_b):
        assert IdempotencyRecord.objects.count() == 0
        assert IdempotencyRecord.unscoped.count() == 0  # RLS, not only the manager
