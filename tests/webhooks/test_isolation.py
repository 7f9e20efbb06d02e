"""A tenant's endpoint never receives another tenant's event, in every isolation mode."""

from __future__ import annotations

import json

import pytest

from projects.services import project_create
from tenants.context import tenant_scope
from tests.conftest import make_tenant
from tests.webhooks.conftest import Receiver, register
from webhooks.models import WebhookDelivery, WebhookEvent
from webhooks.tasks import deliver

pytestmark = pytest.mark.usefixtures("committed_db", "loopback_allowed")


def _bodies(receiver):
    return [json.loads(r["body"]) for r in receiver.requests]


def test_each_tenants_endpoint_receives_only_its_own_events(mode):
    a, b = make_tenant(mode, "wha"), make_tenant(mode, "whb")
    with Receiver() as ra, Receiver() as rb:
        ep_a, ep_b = register(a, ra.url()), register(b, rb.url())
        with tenant_scope(a):
            project_create(tenant=a, name="alpha-only")
        with tenant_scope(b):
            project_create(tenant=b, name="beta-only")
        ra.wait_for(1), rb.wait_for(1)
        assert [x["data"]["name"] for x in _bodies(ra)] == ["alpha-only"]
        assert [x["data"]["name"] for x in _bodies(rb)] == ["beta-only"]

        with tenant_scope(a):
            a_event = WebhookEvent.objects.get()
            pending = WebhookDelivery.objects.create(
                tenant_id=a.pk, endpoint=ep_a, event_id=a_event.pk, event_type=a_event.type
            )
        # A message naming A's delivery, stamped with B's tenant: nothing is read or sent.
        with tenant_scope(b):
            deliver.apply_async(args=[str(pending.pk)])
            # B's own delivery row naming A's event: A's payload is out of B's reach.
            forged = WebhookDelivery.objects.create(
                tenant_id=b.pk, endpoint=ep_b, event_id=a_event.pk, event_type=a_event.type
            )
            deliver.apply_async(args=[str(forged.pk)])
            forged.refresh_from_db()
            assert not WebhookDelivery.objects.filter(pk=pending.pk).exists()
        assert forged.status == "failed" and "no longer kept" in forged.error
        with tenant_scope(a):
            pending.refresh_from_db()
        assert (pending.status, pending.attempts) == ("pending", 0)
        assert len(ra.requests) == 1 and len(rb.requests) == 1
        assert all("alpha" not in r["body"].decode() for r in rb.requests)
        # In its own tenant the same message delivers.
        with tenant_scope(a):
            deliver.apply_async(args=[str(pending.pk)])
        assert len(ra.wait_for(2)) == 2
