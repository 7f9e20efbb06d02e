"""SSRF: webhooks go to public addresses only, checked at registration and at every attempt."""

from __future__ import annotations

import socket

import pytest

from projects.services import project_create
from tenants.context import tenant_scope
from tests.api.conftest import ApiTestClient, host_of, mint
from tests.conftest import make_tenant
from tests.webhooks.conftest import Receiver, register
from webhooks import addresses
from webhooks.models import EventType, WebhookAttempt, WebhookDelivery, WebhookEndpoint

REFUSED_HOSTS = [
    "127.0.0.1",
    "169.254.169.254",
    "10.1.2.3",
    "[::1]",
    "localhost",  # a name that resolves to loopback
    "192.168.0.10",
    "172.16.5.5",
    "100.64.0.1",
    "0.0.0.0",
    "224.0.0.1",
    "[::ffff:127.0.0.1]",
    "[fe80::1]",
    # IPv6 forms a NAT64 or 6to4 router turns into a private IPv4 address.
    "[64:ff9b::7f00:1]",
    "[64:ff9b::a00:1]",
    "[64:ff9b:1::a00:1]",
    "[2002:7f00:1::]",
    "[2002:a00:1::1]",
    "[::127.0.0.1]",
    "[::10.0.0.1]",
]


@pytest.mark.parametrize("host", REFUSED_HOSTS)
def test_private_addresses_are_refused(host, settings):
    settings.WEBHOOKS_ALLOW_PRIVATE = False
    with pytest.raises(addresses.AddressRefused):
        addresses.resolve(f"http://{host}:8080/hook")


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.com/",
        "http://user:pw@93.184.215.14/",
        "http:///nohost",
        "http://93.184.215.14/#frag",
        "http://93.184.215.14:99999/",
        "javascript:alert(1)",
        "",
        "https://" + "a" * 2000 + ".com/",
    ],
)
def test_malformed_urls_are_refused(url):
    with pytest.raises(addresses.AddressRefused):
        addresses.resolve(url)


def test_a_public_address_is_accepted(settings):
    settings.WEBHOOKS_ALLOW_PRIVATE = False
    target = addresses.resolve("https://93.184.215.14/in?x=1")
    assert (target.scheme, target.port, target.path, target.address) == (
        "https",
        443,
        "/in?x=1",
        "93.184.215.14",
    )


@pytest.mark.parametrize("host", ["127.0.0.1", "169.254.169.254", "10.0.0.7", "[::1]", "localhost"])
def test_registration_refuses_them_through_the_api(db, tenant_a, host, settings):
    settings.WEBHOOKS_ALLOW_PRIVATE = False
    client = ApiTestClient(host_of(tenant_a), mint(tenant_a))
    response = client.post(
        "/api/v1/webhooks/",
        {"url": f"http://{host}/hook", "events": ["project.created"]},
        format="json",
    )
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "invalid" and "url" in error["fields"]
    with tenant_scope(tenant_a):
        assert not WebhookEndpoint.objects.exists()


@pytest.mark.parametrize("host", ["127.0.0.1", "169.254.169.254", "10.0.0.7", "[::1]", "localhost"])
def test_delivery_refuses_them_even_when_registered_earlier(committed_db, settings, host):
    """An endpoint accepted before (DNS changed since, or a setting was on) is checked again."""
    settings.WEBHOOKS_ALLOW_PRIVATE = False
    settings.WEBHOOKS_RETRY_SCHEDULE = []
    tenant = make_tenant("shared", "whssrf")
    with Receiver() as receiver:
        url = f"http://{host}:{receiver.port}/hook"
        with tenant_scope(tenant):
            # Written as the registration of an earlier day would have (not re-validated).
            endpoint = WebhookEndpoint.objects.create(
                tenant_id=tenant.pk, url=url, events=list(EventType.values), secret="whsec_AAAA"
            )
            project_create(tenant=tenant, name="Internal?")
            delivery = WebhookDelivery.objects.get(endpoint=endpoint)
            [attempt] = WebhookAttempt.objects.filter(delivery=delivery)
    assert receiver.requests == []
    assert delivery.status == "failed"
    assert attempt.response_status is None and attempt.error.startswith("refused:")


def test_delivery_connects_to_the_address_it_checked(committed_db, settings, monkeypatch):
    """The host is resolved once per attempt; a second lookup (rebinding) is never made."""
    settings.WEBHOOKS_ALLOW_PRIVATE = True
    real = socket.getaddrinfo
    lookups = []

    def fake(host, port, *args, **kwargs):
        if host == "rebind.test":
            lookups.append(host)
            # The first answer is the receiver; any later one would point elsewhere.
            address = "127.0.0.1" if len(lookups) % 2 else "127.0.0.9"
            return real(address, port, *args, **kwargs)
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", fake)
    tenant = make_tenant("shared", "whrebind")
    with Receiver() as receiver:
        endpoint = register(tenant, f"http://rebind.test:{receiver.port}/hook")
        lookups.clear()
        with tenant_scope(tenant):
            project_create(tenant=tenant, name="Pinned")
        [request] = receiver.wait_for(1)
    assert lookups == ["rebind.test"]
    assert request["headers"]["Host"] == f"rebind.test:{receiver.port}"
    with tenant_scope(tenant):
        assert WebhookDelivery.objects.get(endpoint=endpoint).status == "succeeded"


def test_redirects_are_not_followed(committed_db, settings):
    settings.WEBHOOKS_ALLOW_PRIVATE = True
    settings.WEBHOOKS_RETRY_SCHEDULE = []
    tenant = make_tenant("shared", "whredir")
    with Receiver(statuses=[302]) as receiver:
        endpoint = register(tenant, receiver.url())
        with tenant_scope(tenant):
            project_create(tenant=tenant, name="Moved")
            delivery = WebhookDelivery.objects.get(endpoint=endpoint)
    assert len(receiver.requests) == 1
    assert delivery.status == "failed" and delivery.error == "redirects are not followed"
