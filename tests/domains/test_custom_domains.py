"""Custom domains through the real doors: API on a running server, a real DNS server (dnsmasq)."""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
import time
import uuid

import pytest
from django.conf import settings
from django.db import IntegrityError, transaction

from billing.subscriptions import subscription_change_plan
from tenants.context import tenant_scope
from tenants.models import Domain
from tests.api.conftest import mint
from tests.conftest import unique_subdomain
from tests.factories import TenantFactory
from tests.live import LiveServer, free_port, http

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not shutil.which("dnsmasq"), reason="dnsmasq not installed (make system-deps)"
    ),
]


@contextlib.contextmanager
def dns_server(records: dict[str, str | list[str]]):
    """A real DNS server on a loopback port answering TXT records (one name, one or more)."""
    port = free_port()
    args = [
        "dnsmasq",
        "--no-daemon",
        "--conf-file=/dev/null",
        "--no-resolv",
        "--no-hosts",
        "--bind-interfaces",
        "--listen-address=127.0.0.1",
        f"--port={port}",
        *[
            f"--txt-record={name},{value}"
            for name, values in records.items()
            for value in ([values] if isinstance(values, str) else values)
        ],
    ]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.3)
    try:
        yield f"127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(5)


def api(server, tenant, token, method, path, body=None):
    status, _, raw = http(
        method,
        server.url + "/api/v1/" + path,
        f"{tenant.subdomain}.{settings.BASE_DOMAIN}",
        body=json.dumps(body).encode() if body is not None else None,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    return status, (json.loads(raw) if raw else None)


def page(server, host):
    return http("GET", server.url + "/accounts/login/", host)


@pytest.fixture
def setup(committed_db, test_database_url):
    tenant = TenantFactory(name="Acme Custom", subdomain=unique_subdomain("dom"))
    other = TenantFactory(name="Other Org", subdomain=unique_subdomain("dom"))
    name = f"app.{uuid.uuid4().hex[:10]}.example.org"
    return tenant, other, name, mint(tenant), mint(other)


def test_verification_serves_the_domain_and_removal_stops_it(setup, test_database_url):
    tenant, other, name, token, other_token = setup
    # Add the domain (before any DNS record exists).
    with LiveServer(test_database_url, {"CUSTOM_DOMAIN_NAMESERVERS": "127.0.0.1:9"}) as server:
        status, body = api(server, tenant, token, "POST", "domains/", {"domain": name})
        assert status == 201, body
        domain_id, txt = body["id"], body["txt_record"]
        assert txt["name"] == f"_tenantry-challenge.{name}"
        # Not verified: the host is not served (same answer as any unknown host).
        unknown = page(server, f"nothing-{uuid.uuid4().hex[:6]}.example.org")
        unverified = page(server, name)
        assert unverified[0] == unknown[0] == 404
        assert unverified[2] == unknown[2]
        # Verification fails while no record is published.
        status, body = api(server, tenant, token, "POST", f"domains/{domain_id}/verify/")
        assert status == 400 and "TXT" in body["error"]["message"]
        # Another tenant may claim the name too (claims block nobody: no squatting) ...
        status, body = api(server, other, other_token, "POST", "domains/", {"domain": name})
        assert status == 201
        other_id = body["id"]

    with (
        dns_server({txt["name"]: txt["value"]}) as nameserver,
        LiveServer(test_database_url, {"CUSTOM_DOMAIN_NAMESERVERS": nameserver}) as server,
    ):
        status, body = api(server, tenant, token, "POST", f"domains/{domain_id}/verify/")
        assert status == 200 and body["verified"] is True
        # ... but only the one whose token DNS publishes can prove it.
        status, body = api(server, other, other_token, "POST", f"domains/{other_id}/verify/")
        assert status == 400
        status, headers, html = page(server, name)
        assert status == 200 and b"Acme Custom" in html
        # A verified name with anything but a numeric port is refused: the raw header
        # never reaches a link (a reset mail pointing at evil.example).
        assert page(server, name + ":x@evil.example")[0] == 400
        status, _, html = http(
            "POST",
            server.url + "/accounts/password-reset/",
            name + ":@evil.example",
            body=b"email=x%40y.test",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert status == 400 and b"evil.example" not in html
        assert "domain=" not in headers.get("Set-Cookie", "").lower()  # host-only cookies
        assert (
            http("GET", server.url + f"/.well-known/tenantry/tls-ask?domain={name}", "localhost")[0]
            == 200
        )
        assert (
            http(
                "GET",
                server.url + "/.well-known/tenantry/tls-ask?domain=x.example.net",
                "localhost",
            )[0]
            == 404
        )
        # Removal takes effect on the running server at once (registry NOTIFY; bound otherwise).
        assert api(server, tenant, token, "DELETE", f"domains/{domain_id}/")[0] == 204
        deadline = time.monotonic() + settings.TENANT_REGISTRY_MAX_AGE + 1
        while page(server, name)[0] != 404:
            assert time.monotonic() < deadline, "a removed domain was still served"
            time.sleep(0.05)


def test_downgrade_stops_serving_and_free_plans_cannot_add(setup, test_database_url):
    tenant, _, name, token, _ = setup
    with tenant_scope(tenant):
        Domain.objects.create(
            tenant=tenant, domain=name, token="t", verified_at="2026-01-01T00:00Z"
        )
    with LiveServer(test_database_url) as server:
        assert page(server, name)[0] == 200
        subscription_change_plan(tenant=tenant, plan_code="free")
        deadline = time.monotonic() + settings.TENANT_REGISTRY_MAX_AGE + 1
        while page(server, name)[0] != 404:
            assert time.monotonic() < deadline, "a downgraded tenant's domain was still served"
            time.sleep(0.05)
        status, body = api(server, tenant, token, "POST", "domains/", {"domain": "b." + name})
        assert status == 403, body


def test_one_domain_is_verified_for_one_tenant_in_the_database(setup):
    tenant, other, name, _, _ = setup
    verified = "2026-01-01T00:00Z"
    with tenant_scope(tenant):
        Domain.objects.create(tenant=tenant, domain=name, token="a", verified_at=verified)
    # Tenant B cannot see A's row, yet the database refuses a second verified one.
    with tenant_scope(other), pytest.raises(IntegrityError), transaction.atomic():
        Domain.objects.create(tenant=other, domain=name, token="b", verified_at=verified)


def test_dns_decides_a_name_the_holder_no_longer_publishes_goes_to_who_does(
    setup, test_database_url
):
    """A verified claim is not forever: the TXT record DNS publishes now decides.

    Found by a probe: A verified a name, then lost custom domains with its plan (the name
    no longer served), and B, publishing its own token, was refused forever with a false
    "already served by another organisation".
    """
    from audit.models import AuditEvent

    tenant, other, name, _token, other_token = setup
    with tenant_scope(tenant):
        held = Domain.objects.create(
            tenant=tenant, domain=name, token="a-token", verified_at="2026-01-01T00:00Z"
        )
    subscription_change_plan(tenant=tenant, plan_code="free")
    challenge = f"_tenantry-challenge.{name}"
    with LiveServer(test_database_url, {"CUSTOM_DOMAIN_NAMESERVERS": "127.0.0.1:9"}) as server:
        status, body = api(server, other, other_token, "POST", "domains/", {"domain": name})
        assert status == 201, body
        other_id, other_txt = body["id"], body["txt_record"]["value"]

    # Both records published: the holder keeps the name.
    with (
        dns_server({challenge: ["a-token", other_txt]}) as both_ns,
        LiveServer(test_database_url, {"CUSTOM_DOMAIN_NAMESERVERS": both_ns}) as server,
    ):
        status, body = api(server, other, other_token, "POST", f"domains/{other_id}/verify/")
        assert status == 400 and "still published" in body["error"]["message"], body

    # Only B's record published: B gets the name, A's claim goes back to unverified.
    with (
        dns_server({challenge: other_txt}) as nameserver,
        LiveServer(test_database_url, {"CUSTOM_DOMAIN_NAMESERVERS": nameserver}) as server,
    ):
        status, body = api(server, other, other_token, "POST", f"domains/{other_id}/verify/")
        assert status == 200 and body["verified"] is True, body
        status, _, html = page(server, name)
        assert status == 200 and b"Other Org" in html
    with tenant_scope(tenant):
        held.refresh_from_db()
        assert held.verified_at is None
        released = AuditEvent.objects.filter(action="domain.release").get()
        assert released.actor_label == "system" and released.data["domain"] == name
        assert other_token not in str(released.data)
