"""Per-plan API rate limits: the window, the headers, Redis sharing, degraded mode, two processes."""

from __future__ import annotations

import json
import os
import time
import uuid

import pytest
import redis
from django.conf import settings

from billing.models import Plan
from billing.ratelimit import RateLimiter
from tests.api.conftest import ApiTestClient, host_of, mint
from tests.conftest import unique_subdomain
from tests.factories import TenantFactory
from tests.live import LiveServer, http

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


class FakeClock:
    def __init__(self, now: float):
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_fixed_window_refuses_the_limit_plus_one_and_resets():
    clock = FakeClock(6000.0)  # the start of a window
    limiter = RateLimiter(None, clock=clock)
    tenant_id = uuid.uuid4()
    decisions = [limiter.hit(tenant_id=tenant_id, limit=3) for _ in range(4)]
    assert [d.allowed for d in decisions] == [True, True, True, False]
    assert [d.remaining for d in decisions] == [2, 1, 0, 0]
    assert decisions[3].reset == 6060 and decisions[3].retry_after == 60
    assert decisions[3].headers()["Retry-After"] == "60"
    assert "Retry-After" not in decisions[0].headers()
    # The budget is the tenant's: another tenant has its own.
    assert limiter.hit(tenant_id=uuid.uuid4(), limit=3).allowed
    clock.now = 6045.5
    assert limiter.hit(tenant_id=tenant_id, limit=3).retry_after == 15
    clock.now = 6060.0  # next window
    fresh = limiter.hit(tenant_id=tenant_id, limit=3)
    assert fresh.allowed and fresh.remaining == 2 and fresh.backend == "local"


def test_redis_counter_is_shared_between_limiters():
    """Two limiters (as in two processes) on one Redis share one budget."""
    first, second = RateLimiter(REDIS_URL), RateLimiter(REDIS_URL)
    tenant_id = uuid.uuid4()
    results = []
    for i in range(6):
        limiter = first if i % 2 == 0 else second
        results.append(limiter.hit(tenant_id=tenant_id, limit=5))
    if results[0].reset != results[-1].reset:  # crossed a minute boundary: retry once
        tenant_id = uuid.uuid4()
        results = [
            (first if i % 2 == 0 else second).hit(tenant_id=tenant_id, limit=5) for i in range(6)
        ]
    assert [r.allowed for r in results] == [True] * 5 + [False]
    assert {r.backend for r in results} == {"redis"}
    key = f"ratelimit:{tenant_id}:{results[0].reset // 60 - 1}"
    client = redis.Redis.from_url(REDIS_URL)
    assert int(client.get(key)) == 6
    assert 0 < client.ttl(key) <= 65


def test_redis_down_degrades_to_the_local_limiter():
    clock = FakeClock(9000.0)
    limiter = RateLimiter("redis://127.0.0.1:1/0", clock=clock)  # nothing listens on port 1
    tenant_id = uuid.uuid4()
    started = time.monotonic()
    decisions = [limiter.hit(tenant_id=tenant_id, limit=2) for _ in range(3)]
    assert [d.allowed for d in decisions] == [True, True, False]
    assert {d.backend for d in decisions} == {"local-degraded"}
    # Only the first call paid for the failed connection; the rest skipped Redis.
    assert time.monotonic() - started < 2
    assert limiter._redis_down_until == 9000.0 + 10


@pytest.mark.django_db
def test_api_answers_429_with_headers(db):
    plan = Plan.objects.using("operator").create(
        code=f"rl-{uuid.uuid4().hex[:6]}",
        name="Tiny",
        features=["api_access"],
        api_requests_per_minute=3,
    )
    tenant = TenantFactory(plan=plan)
    api = ApiTestClient(host_of(tenant), mint(tenant, ["read"]))
    responses = [api.get("/api/v1/usage/") for _ in range(4)]
    if responses[0]["X-RateLimit-Reset"] != responses[-1]["X-RateLimit-Reset"]:
        api = ApiTestClient(host_of(tenant), mint(tenant, ["read"]))
        responses = [api.get("/api/v1/usage/") for _ in range(4)]
    assert [r.status_code for r in responses] == [200, 200, 200, 429]
    assert [r["X-RateLimit-Remaining"] for r in responses] == ["2", "1", "0", "0"]
    assert all(r["X-RateLimit-Limit"] == "3" for r in responses)
    refused = responses[3]
    assert refused.json()["error"]["code"] == "rate_limited"
    assert 1 <= int(refused["Retry-After"]) <= 60
    assert int(refused["X-RateLimit-Reset"]) - time.time() <= 61


@pytest.mark.django_db
def test_refused_calls_count_and_carry_the_headers(db):
    plan = Plan.objects.using("operator").create(
        code=f"rl-{uuid.uuid4().hex[:6]}",
        name="Tiny",
        features=["api_access"],
        api_requests_per_minute=2,
    )
    tenant = TenantFactory(plan=plan)
    api = ApiTestClient(host_of(tenant), mint(tenant, ["read"]))
    first = api.post("/api/v1/projects/", {"name": "x"}, format="json")  # scope too small
    assert first.status_code == 403 and first["X-RateLimit-Remaining"] == "1"
    second = api.get("/api/v1/tokens/")
    assert second.status_code == 403 and second["X-RateLimit-Remaining"] == "0"
    third = api.get("/api/v1/projects/")
    if third["X-RateLimit-Reset"] == first["X-RateLimit-Reset"]:  # same window
        assert third.status_code == 429


def _wait_for_fresh_window(margin: float = 15) -> None:
    """Start a burst early in a minute so it cannot straddle two windows."""
    into = time.time() % 60
    if into > 60 - margin:
        time.sleep(60 - into + 0.2)


def _tenant_on_rpm(rpm: int, prefix: str):
    """A new tenant on a plan of its own with the API and `rpm` requests a minute."""
    plan = Plan.objects.using("operator").create(
        code=f"{prefix}-{uuid.uuid4().hex[:6]}",
        name=f"{rpm} requests a minute",
        features=["api_access"],
        api_requests_per_minute=rpm,
    )
    return TenantFactory(subdomain=unique_subdomain(prefix), plan=plan)


@pytest.mark.slow
def test_limit_holds_across_two_server_processes(committed_db, test_database_url):
    rpm = 5
    tenant = _tenant_on_rpm(rpm, "rl")
    secret = mint(tenant, ["read"])
    host = f"{tenant.subdomain}.{settings.BASE_DOMAIN}"
    headers = {"Authorization": f"Bearer {secret}"}
    env = {"REDIS_URL": REDIS_URL}
    with LiveServer(test_database_url, env) as one, LiveServer(test_database_url, env) as two:
        assert one.proc.pid != two.proc.pid
        _wait_for_fresh_window()
        results = []
        for i in range(rpm + 1):
            server = one if i % 2 == 0 else two
            status, response_headers, body = http(
                "GET", server.url + "/api/v1/usage/", host, headers=headers
            )
            results.append((status, response_headers, body))
    statuses = [r[0] for r in results]
    assert statuses == [200] * rpm + [429], statuses
    remaining = [r[1]["X-RateLimit-Remaining"] for r in results]
    assert remaining == ["4", "3", "2", "1", "0", "0"]  # one budget, counted by both
    refused_headers, refused_body = results[-1][1], results[-1][2]
    assert int(refused_headers["Retry-After"]) >= 1
    assert refused_headers["X-RateLimit-Limit"] == str(rpm)
    assert json.loads(refused_body)["error"]["code"] == "rate_limited"


def test_counters_stay_in_the_tenants_region(settings):
    """A tenant's counters go to its region's Redis; a region without one counts in-process."""
    from types import SimpleNamespace

    from billing.ratelimit import rate_limit_hit, region_redis_url

    tag = uuid.uuid4().hex[:6]
    with_cache, without = f"eu-{tag}", f"mars-{tag}"
    settings.TENANT_REGION_CACHES = {with_cache: REDIS_URL}
    assert region_redis_url(with_cache) == REDIS_URL
    assert region_redis_url(without) is None
    assert region_redis_url(settings.TENANT_DEFAULT_REGION) == (settings.REDIS_URL or None)

    def tenant(region):
        plan = SimpleNamespace(api_requests_per_minute=5)
        return SimpleNamespace(pk=uuid.uuid4(), region=region, plan=plan)

    eu = tenant(with_cache)
    decision = rate_limit_hit(tenant=eu)
    assert decision.backend == "redis"
    window = decision.reset // 60 - 1
    assert int(redis.Redis.from_url(REDIS_URL).get(f"ratelimit:{eu.pk}:{window}")) == 1
    assert rate_limit_hit(tenant=tenant(without)).backend == "local"


@pytest.mark.slow
def test_the_budget_is_the_organisations_not_each_tokens(committed_db, test_database_url):
    """Tokens cost nothing to mint: with a budget per token, a 4-rpm plan served 4 requests
    per token (6 of 6 from three tokens here before the fix; a fresh token got 4 more)."""
    rpm = 4
    tenant = _tenant_on_rpm(rpm, "rlorg")
    secrets = [mint(tenant, ["read", "write", "admin"]) for _ in range(3)]
    host = f"{tenant.subdomain}.{settings.BASE_DOMAIN}"
    with LiveServer(test_database_url, {"REDIS_URL": REDIS_URL}) as server:
        _wait_for_fresh_window()
        statuses = [
            http("GET", server.url + "/api/v1/usage/", host,
                 headers={"Authorization": f"Bearer {secrets[i % 3]}"})[0]
            for i in range(rpm + 2)
        ]  # fmt: skip
        # A token minted now (it is refused too: the budget is spent) or by an operator
        # draws on the same budget.
        fresh = mint(tenant, ["read"])
        status, headers, _ = http(
            "GET", server.url + "/api/v1/usage/", host, headers={"Authorization": f"Bearer {fresh}"}
        )
    assert statuses == [200] * rpm + [429, 429], statuses
    assert status == 429 and headers["X-RateLimit-Remaining"] == "0"
