"""Redis stopped: pages keep serving, the cache degrades, queueing a job fails cleanly."""

from __future__ import annotations

import http.client
import re
import shutil
import subprocess
import time
import urllib.parse
from http.cookies import SimpleCookie

import pytest
from django.conf import settings

from jobs.models import Job, JobStatus
from saas.cache import FailSoftRedisCache
from tenants.context import tenant_scope
from tests.conftest import unique_subdomain
from tests.factories import TenantFactory, UserFactory
from tests.factories.accounts import PASSWORD
from tests.jobs.conftest import REDIS_URL
from tests.live import ROOT, LiveServer, free_port
from tests.live import http as live_http

pytestmark = pytest.mark.slow


class RedisServer:
    """A private redis-server on a free port, so the test can stop it."""

    def __init__(self):
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc = None

    def __enter__(self):
        binary = shutil.which("redis-server") or "/usr/bin/redis-server"
        self.proc = subprocess.Popen(
            [
                binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(ROOT / "artifacts"),
            ],
            stdout=subprocess.DEVNULL,
        )
        import redis

        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                redis.Redis.from_url(self.url).ping()
                return self
            except redis.ConnectionError:
                time.sleep(0.1)
        raise RuntimeError("redis-server did not start")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)

    def __exit__(self, *exc):
        self.stop()


class Browser:
    """Cookies and CSRF against a live server, with the stdlib only."""

    def __init__(self, server, host):
        self.server, self.host, self.cookies = server, host, {}

    def request(self, method, path, form=None):
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
        body = None
        if method == "POST":
            headers["X-CSRFToken"] = self.cookies.get("csrftoken", "")
            headers["Referer"] = f"http://{self.host}/"
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            body = urllib.parse.urlencode(form or {}).encode()
        # http.client, not tests.live.http: several Set-Cookie headers must all be kept.
        conn = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=15)
        conn.request(method, path, body=body, headers={"Host": self.host, **headers})
        response = conn.getresponse()
        status, content = response.status, response.read()
        for value in response.headers.get_all("Set-Cookie") or []:
            for morsel in SimpleCookie(value).values():
                self.cookies[morsel.key] = morsel.value
        conn.close()
        return status, content

    def login(self, email):
        status, page = self.request("GET", "/accounts/login/")
        assert status == 200
        token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
        status, _ = self.request(
            "POST",
            "/accounts/login/",
            {"email": email, "password": PASSWORD, "csrfmiddlewaretoken": token.decode()},
        )
        assert status == 302


def test_web_keeps_serving_when_redis_stops_and_queueing_fails_cleanly(
    committed_db, test_database_url
):
    tenant = TenantFactory(subdomain=unique_subdomain("rdown"))
    UserFactory(tenant=tenant, email="admin@rdown.test", role="owner")
    host = f"{tenant.subdomain}.{settings.BASE_DOMAIN}"
    with RedisServer() as redis_server:
        env = {"REDIS_URL": redis_server.url}
        with LiveServer(test_database_url, env) as server:
            browser = Browser(server, host)
            browser.login("admin@rdown.test")
            status, body = browser.request("POST", "/exports/")
            assert status == 202, body  # Redis up: the job is queued

            redis_server.stop()

            assert live_http("GET", server.url + "/healthz", settings.BASE_DOMAIN)[0] == 200
            assert Browser(server, host).request("GET", "/accounts/login/")[0] == 200
            assert browser.request("GET", "/")[0] == 200  # signed in: the dashboard
            status, _, _ = live_http(
                "GET", server.url + "/", f"nobody-{tenant.subdomain}.localhost"
            )
            assert status == 404  # unknown tenant still answered from the database

            # One export at a time: the first is done (as a worker would record it), so the
            # next request queues a new one, which the stopped Redis cannot take.
            with tenant_scope(tenant):
                Job.objects.filter(tenant_id=tenant.pk).update(status=JobStatus.SUCCEEDED)
            started = time.monotonic()
            status, body = browser.request("POST", "/exports/")
            assert status == 503, body
            assert b"queue_unavailable" in body
            assert time.monotonic() - started < 10

    with tenant_scope(tenant):  # job rows are under RLS
        jobs = list(Job.objects.filter(tenant_id=tenant.pk).order_by("created_at"))
    assert [j.status for j in jobs] == [JobStatus.SUCCEEDED, JobStatus.FAILED]
    assert "unavailable" in jobs[1].message


def test_the_default_cache_degrades_instead_of_raising():
    down = FailSoftRedisCache(
        f"redis://127.0.0.1:{free_port()}/0", {"OPTIONS": {"socket_connect_timeout": 0.2}}
    )
    assert down.get("k") is None
    assert down.get("k", "fallback") == "fallback"
    assert down.set("k", 1) is None
    assert down.add("k", 1) is False
    assert down.get_many(["a", "b"]) == {}
    assert down.incr("n") is None
    assert down.available() is False

    up = FailSoftRedisCache(REDIS_URL, {"KEY_PREFIX": f"failsoft-{unique_subdomain()}"})
    up.set("k", "v", 30)
    assert up.get("k") == "v" and up.available() is True
    with pytest.raises(ValueError):
        up.incr("missing")  # real errors are not swallowed, only an unreachable Redis
    up.delete("k")
