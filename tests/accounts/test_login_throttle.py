"""Sign-in throttling keeps counting without Redis and never refuses the right password for
longer than a bounded, growing delay. Against a real server, with Redis up and with the server
pointed at a closed port."""

from __future__ import annotations

import os
import time
from datetime import timedelta

import pytest
from django.conf import settings
from django.db.models import F

from accounts import throttle
from accounts.forms import LOGIN_FAILED
from accounts.models import LoginFailure
from tests.conftest import unique_subdomain
from tests.factories import TenantFactory, UserFactory
from tests.live import LiveServer, free_port
from tests.live_client import Browser, tenant_host

pytestmark = pytest.mark.slow

DELAY = 2  # seconds: the first delay, doubled at each further failure

WAIT_WORDS = b"Too many failed sign-in attempts"


def _server(django_db_setup, redis_url: str) -> LiveServer:
    base, _, _ = settings.DATABASE_URL.rpartition("/")
    env = {
        "REDIS_URL": redis_url,
        "LOGIN_FAILURE_LIMIT": "5",
        "LOGIN_IP_FAILURE_LIMIT": "1000",
        "LOGIN_DELAY_SECONDS": str(DELAY),
    }
    return LiveServer(f"{base}/{django_db_setup}", env)


def _org():
    tenant = TenantFactory(subdomain=unique_subdomain("throttle"))
    user = UserFactory(tenant=tenant, email="victim@throttle.test")
    return tenant, user


def _attempt(server, tenant, email, password):
    status, page = Browser(server, tenant_host(tenant)).login(email, password)
    if status == 302:
        return "signed-in"
    assert status == 200, status
    if WAIT_WORDS in page:
        return "wait"
    assert LOGIN_FAILED.encode() in page
    return "failed"


def test_with_redis_down_failures_still_count(django_db_setup, committed_db):
    tenant, user = _org()
    closed = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    with _server(django_db_setup, closed) as server:
        answers = [_attempt(server, tenant, user.email, "wrong-password-x") for _ in range(30)]
        assert answers[:5] == ["failed"] * 5
        assert set(answers[5:]) == {"wait"}, answers  # never fails open
        assert _attempt(server, tenant, user.email, "correct-horse-battery") == "wait"
        time.sleep(DELAY + 0.5)
        assert _attempt(server, tenant, user.email, "correct-horse-battery") == "signed-in"


def test_with_redis_up_the_right_password_is_accepted_after_the_delay(
    django_db_setup, committed_db
):
    tenant, user = _org()
    redis_url = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    with _server(django_db_setup, redis_url) as server:
        for _ in range(5):
            assert _attempt(server, tenant, user.email, "wrong-password-x") == "failed"
        # Right after the fifth failure: a short wait, for everyone at this address.
        assert _attempt(server, tenant, user.email, "correct-horse-battery") == "wait"
        time.sleep(DELAY + 0.5)
        assert _attempt(server, tenant, user.email, "correct-horse-battery") == "signed-in"
        # The success cleared the count: five free attempts again.
        for _ in range(5):
            assert _attempt(server, tenant, user.email, "wrong-password-x") == "failed"


# --- the delay itself (no server needed) ------------------------------------------------------


@pytest.fixture
def limits(settings):
    settings.LOGIN_FAILURE_LIMIT = 3
    settings.LOGIN_IP_FAILURE_LIMIT = 1000
    settings.LOGIN_DELAY_SECONDS = 10
    settings.LOGIN_DELAY_MAX_SECONDS = 60
    settings.LOGIN_FAILURE_WINDOW_SECONDS = 3600
    return settings


def _age(seconds: float) -> None:
    LoginFailure.objects.update(last_failure_at=F("last_failure_at") - timedelta(seconds=seconds))


@pytest.mark.django_db
def test_the_delay_doubles_per_failure_and_is_capped(limits):
    args = ("tenant-x", "who@x.test", "10.9.0.1")
    waits = []
    for _ in range(7):
        throttle.record_failure(*args)
        waits.append(throttle.wait_seconds(*args))
    assert waits == [0, 0, 10, 20, 40, 60, 60]
    _age(59)
    assert throttle.wait_seconds(*args) == 1
    _age(1)
    assert throttle.wait_seconds(*args) == 0  # never refused for good
    # Other addresses and other accounts are not delayed.
    assert throttle.wait_seconds("tenant-x", "who@x.test", "10.9.0.2") == 0
    assert throttle.wait_seconds("tenant-x", "other@x.test", "10.9.0.1") == 0
    throttle.record_success(*args)
    assert throttle.wait_seconds(*args) == 0


@pytest.mark.django_db
def test_counts_are_forgotten_after_the_window(limits):
    args = ("tenant-x", "who@x.test", "10.9.0.3")
    for _ in range(4):
        throttle.record_failure(*args)
    _age(3600)
    assert throttle.wait_seconds(*args) == 0
    throttle.record_failure(*args)  # starts again from one
    assert throttle.wait_seconds(*args) == 0


@pytest.mark.django_db
def test_keys_hold_no_email_address_or_tenant_in_clear(limits):
    throttle.record_failure("tenant-x", "who@x.test", "10.9.0.4")
    stored = " ".join(LoginFailure.objects.values_list("key", flat=True))
    assert "who" not in stored and "10.9" not in stored and "tenant-x" not in stored
