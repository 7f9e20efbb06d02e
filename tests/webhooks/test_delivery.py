"""Deliveries to a real HTTP receiver on loopback, through the outbox and the in-process Celery."""

from __future__ import annotations

import json

import pytest
from django.core import mail
from django.db import connections
from standardwebhooks import Webhook

from accounts.models import Role
from audit.models import AuditEvent
from projects.services import project_create, project_update
from tenants.context import tenant_scope
from tests.conftest import make_tenant
from tests.factories import UserFactory
from tests.webhooks.conftest import Receiver, documented_verifier, register
from webhooks import deliveries, endpoints
from webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint

pytestmark = pytest.mark.usefixtures("committed_db", "loopback_allowed")


def _deliveries(tenant, endpoint):
    with tenant_scope(tenant):
        return list(WebhookDelivery.objects.filter(endpoint=endpoint).order_by("created_at"))


def _attempts(tenant, delivery):
    with tenant_scope(tenant):
        return list(WebhookAttempt.objects.filter(delivery=delivery).order_by("number"))


def test_the_receiver_verifies_the_signature_with_the_documented_algorithm(receiver):
    tenant = make_tenant("shared", "whsig")
    endpoint = register(tenant, receiver.url())
    with tenant_scope(tenant):
        project = project_create(tenant=tenant, name="Signed")
    [request] = receiver.wait_for(1)
    verify = documented_verifier()
    assert verify(endpoint.secret, request["headers"], request["body"])
    # Any change to body, id, timestamp or secret fails the check.
    assert not verify(endpoint.secret, request["headers"], request["body"] + b" ")
    forged = {**request["headers"], "webhook-id": "evt_other"}
    assert not verify(endpoint.secret, forged, request["body"])
    old = {
        **request["headers"],
        "webhook-timestamp": str(int(request["headers"]["webhook-timestamp"]) - 600),
    }
    assert not verify(endpoint.secret, old, request["body"])
    other_secret = register(tenant, receiver.url("/other"), ["task.created"]).secret
    assert not verify(other_secret, request["headers"], request["body"])

    # The reference implementation of the scheme accepts it too.
    assert Webhook(endpoint.secret).verify(request["body"], request["headers"])["data"]["name"]
    payload = json.loads(request["body"])
    assert payload["type"] == "project.created"
    assert payload["data"]["id"] == str(project.pk) and payload["data"]["name"] == "Signed"
    assert request["headers"]["Content-Type"] == "application/json"
    assert request["headers"]["webhook-signature"].startswith("v1,")
    [delivery] = _deliveries(tenant, endpoint)
    assert request["headers"]["webhook-id"] == str(delivery.event_id)
    assert (delivery.status, delivery.attempts, delivery.response_status) == ("succeeded", 1, 200)
    # An endpoint receives only the events it lists.
    assert len(receiver.requests) == 1
    with tenant_scope(tenant):
        project_update(tenant=tenant, project=project, name="Renamed")
    [_, update] = receiver.wait_for(2)
    body = json.loads(update["body"])
    assert body["type"] == "project.updated" and body["data"]["changed"] == ["name"]


def test_a_failing_receiver_is_retried_until_it_recovers():
    tenant = make_tenant("shared", "whretry")
    with Receiver(statuses=[500, 503]) as receiver:
        endpoint = register(tenant, receiver.url())
        with tenant_scope(tenant):
            project_create(tenant=tenant, name="Retried")
        requests = receiver.wait_for(3)
    assert len(requests) == 3
    # The same message each time: one webhook-id (receivers deduplicate on it).
    assert len({r["headers"]["webhook-id"] for r in requests}) == 1
    [delivery] = _deliveries(tenant, endpoint)
    assert (delivery.status, delivery.attempts) == ("succeeded", 3)
    attempts = _attempts(tenant, delivery)
    assert [a.response_status for a in attempts] == [500, 503, 200]
    assert len(attempts[0].response_body) <= 1000  # the log keeps a truncated body
    with tenant_scope(tenant):
        endpoint = WebhookEndpoint.objects.get(pk=endpoint.pk)
    assert endpoint.is_enabled and endpoint.consecutive_failures == 0


def test_a_receiver_that_keeps_failing_disables_the_endpoint_and_mails_the_owner(settings):
    settings.WEBHOOKS_DISABLE_AFTER_FAILURES = 5
    tenant = make_tenant("shared", "whdown")
    UserFactory(tenant=tenant, email="owner@whdown.test", role=Role.OWNER)
    UserFactory(tenant=tenant, email="member@whdown.test", role=Role.MEMBER)
    mail.outbox.clear()
    with Receiver(statuses=[500] * 100) as receiver:
        endpoint = register(tenant, receiver.url("/hook?token=in-the-url"))
        with tenant_scope(tenant):
            project_create(tenant=tenant, name="One")  # 4 attempts (1 + 3 retries): failed
            project_create(tenant=tenant, name="Two")  # the 5th attempt disables it
            project_create(tenant=tenant, name="Three")  # a disabled endpoint gets nothing
        requests = receiver.wait_for(5)
    assert len(requests) == 5
    with tenant_scope(tenant):
        endpoint = WebhookEndpoint.objects.get(pk=endpoint.pk)
        audit = list(AuditEvent.objects.filter(action="webhook.disable"))
    assert not endpoint.is_enabled and "5 failed attempts in a row" in endpoint.disabled_reason
    first, second = _deliveries(tenant, endpoint)
    assert (first.status, first.attempts) == ("failed", 4)
    assert (second.status, second.attempts) == ("failed", 1)
    [message] = [m for m in mail.outbox if "disabled" in m.subject]
    assert message.to == ["owner@whdown.test"]
    assert "127.0.0.1" in message.body and f"/webhooks/{endpoint.pk}/" in message.body
    assert endpoint.secret not in message.body and "in-the-url" not in message.body
    [entry] = audit
    assert entry.actor_label == "system" and endpoint.secret not in json.dumps(entry.data)
    assert "in-the-url" not in json.dumps(entry.data)

    # Enabled again, the failure run starts over; resend delivers the missed event.
    with Receiver() as receiver, tenant_scope(tenant):
        endpoints.endpoint_update(
            tenant=tenant, endpoint=endpoint, url=receiver.url(), is_enabled=True
        )
        deliveries.delivery_resend(tenant=tenant, delivery=second)
        [request] = receiver.wait_for(1)
    assert request["headers"]["webhook-id"] == str(second.event_id)
    assert _deliveries(tenant, endpoint)[-1].status == "succeeded"


def test_secrets_stay_out_of_audit_entries_and_logs(receiver, caplog):
    tenant = make_tenant("shared", "whsec")
    with caplog.at_level("DEBUG"):
        endpoint = register(tenant, receiver.url())
        with tenant_scope(tenant):
            endpoints.endpoint_rotate_secret(tenant=tenant, endpoint=endpoint)
            project_create(tenant=tenant, name="Quiet")
        receiver.wait_for(1)
    with tenant_scope(tenant):
        entries = list(AuditEvent.objects.filter(action__startswith="webhook."))
    assert {e.action for e in entries} == {"webhook.create", "webhook.rotate_secret"}
    text = json.dumps([e.data for e in entries]) + caplog.text
    assert endpoint.secret not in text and "whsec_" not in text


def test_a_rolled_back_change_records_no_event(receiver, mode):
    from datetime import timedelta

    from django.utils import timezone

    from tenants.models import OutboxMessage
    from tenants.outbox import outbox_drain
    from tenants.transactions import tenant_atomic
    from webhooks.models import WebhookEvent

    tenant = make_tenant(mode, "whatomic")
    register(tenant, receiver.url())
    with tenant_scope(tenant):
        with pytest.raises(RuntimeError), tenant_atomic():
            project_create(tenant=tenant, name="Never")
            assert WebhookEvent.objects.count() == 1  # recorded inside the transaction ...
            raise RuntimeError("the change fails after the event was recorded")
        assert WebhookEvent.objects.count() == 0  # ... and gone with it
        # Where the outbox is in another database than the change (its own database),
        # the row waits `held` for a release that never comes.
        rows = OutboxMessage.objects.filter(task="webhooks.dispatch")
        assert all(row.status == "held" for row in rows)
    # Long after, the drain publishes a held row: its dispatch finds no event, sends nothing.
    outbox_drain(tenants=[tenant], now=timezone.now() + timedelta(hours=1))
    with tenant_scope(tenant):
        assert all(row.status == "done" for row in rows.all())
    assert receiver.requests == []
    with tenant_scope(tenant):
        project_create(tenant=tenant, name="Kept")
        assert WebhookEvent.objects.count() == 1
    assert len(receiver.wait_for(1)) == 1
    assert json.loads(receiver.requests[0]["body"])["data"]["name"] == "Kept"
    for conn in connections.all():
        conn.close()


@pytest.mark.parametrize("mode", ["shared", "database"])
def test_every_event_type_reaches_its_endpoint(receiver, mode):
    from accounts.invitations import invitation_accept, invitation_create
    from accounts.services import member_remove
    from billing.subscriptions import subscription_change_plan
    from jobs.services import job_start
    from projects.services import project_delete, task_create, task_delete, task_update
    from webhooks.models import EventType

    tenant = make_tenant(mode, "whall")
    owner = UserFactory(tenant=tenant, email="owner@whall.test", role=Role.OWNER)
    register(tenant, receiver.url())
    with tenant_scope(tenant):
        project = project_create(tenant=tenant, name="P")
        project_update(tenant=tenant, project=project, description="d")
        task = task_create(tenant=tenant, project=project, title="T")
        task_update(tenant=tenant, task=task, status="done")
        task_delete(tenant=tenant, task=task)
        project_delete(tenant=tenant, project=project)
        issued = invitation_create(tenant=tenant, email="new@whall.test", invited_by=owner)
        member = invitation_accept(tenant=tenant, token=issued.token, password="long-enough-pw-1")
        member_id = str(member.pk)
        member_remove(tenant=tenant, member=member, actor=owner)
    subscription_change_plan(
        tenant=tenant, plan_code="enterprise" if mode == "database" else "free"
    )
    job_start(kind="tenant_export", tenant=tenant, requested_by="test")
    requests = receiver.wait_for(len(EventType.values))
    bodies = [json.loads(r["body"]) for r in requests]
    assert sorted(b["type"] for b in bodies) == sorted(EventType.values)
    by_type = {b["type"]: b["data"] for b in bodies}
    assert by_type["task.updated"]["status"] == "done"
    assert by_type["member.joined"]["email"] == "new@whall.test"
    assert by_type["member.removed"]["id"] == member_id
    assert by_type["plan.changed"]["from"] == "pro"
    assert by_type["export.ready"]["download_url"].endswith(
        f"/exports/{by_type['export.ready']['id']}/download/"
    )
    assert by_type["export.ready"]["rows"] > 0


def test_the_sweep_sends_what_a_lost_message_or_a_dead_worker_left(receiver):
    from datetime import timedelta

    from django.utils import timezone

    from webhooks.models import WebhookEvent
    from webhooks.tasks import sweep

    tenant = make_tenant("shared", "whsweep")
    suspended = make_tenant("shared", "whsweepoff", status="suspended")
    endpoint = register(tenant, receiver.url())
    long_ago = timezone.now() - timedelta(hours=1)
    with tenant_scope(tenant):
        event = WebhookEvent.objects.create(tenant_id=tenant.pk, type="plan.changed", data={})
        # Never queued (the broker was down), and one whose worker died mid-send.
        lost = WebhookDelivery.objects.create(
            tenant_id=tenant.pk,
            endpoint=endpoint,
            event_id=event.pk,
            event_type=event.type,
            next_attempt_at=long_ago,
        )
        dead = WebhookDelivery.objects.create(
            tenant_id=tenant.pk,
            endpoint=endpoint,
            event_id=event.pk,
            event_type=event.type,
            status="sending",
            attempts=1,
            last_attempt_at=long_ago,
        )
        # Due later: left alone.
        later = WebhookDelivery.objects.create(
            tenant_id=tenant.pk,
            endpoint=endpoint,
            event_id=event.pk,
            event_type=event.type,
            next_attempt_at=timezone.now() + timedelta(hours=1),
        )
    other = register(suspended, receiver.url("/suspended"))
    with tenant_scope(suspended):
        WebhookDelivery.objects.create(
            tenant_id=suspended.pk,
            endpoint=other,
            event_id=event.pk,
            event_type="plan.changed",
            next_attempt_at=long_ago,
        )
    assert sweep.apply().get() == {"queued": 2}
    receiver.wait_for(2)
    assert len(receiver.requests) == 2
    assert all(r["path"] == "/hook" for r in receiver.requests)
    with tenant_scope(tenant):
        assert WebhookDelivery.objects.get(pk=lost.pk).status == "succeeded"
        dead = WebhookDelivery.objects.get(pk=dead.pk)
        assert (dead.status, dead.attempts) == ("succeeded", 2)
        assert WebhookDelivery.objects.get(pk=later.pk).status == "pending"


@pytest.mark.parametrize("mode", ["shared", "database"])
def test_purge_forgets_old_events_and_finished_deliveries_only(receiver, mode):
    from datetime import timedelta

    from django.utils import timezone

    from webhooks.models import WebhookEvent
    from webhooks.tasks import purge

    tenant, other = make_tenant(mode, "whpurge"), make_tenant(mode, "whkeep")
    old = timezone.now() - timedelta(days=31)
    rows = {}
    for t in (tenant, other):
        endpoint = register(t, receiver.url())
        with tenant_scope(t):
            event = WebhookEvent.objects.create(tenant_id=t.pk, type="plan.changed", data={})
            WebhookEvent.objects.filter(pk=event.pk).update(created_at=old)
            recent = WebhookEvent.objects.create(tenant_id=t.pk, type="plan.changed", data={})
            done = WebhookDelivery.objects.create(
                tenant_id=t.pk,
                endpoint=endpoint,
                event_id=event.pk,
                event_type=event.type,
                status="failed",
                created_at=old,
                next_attempt_at=timezone.now() + timedelta(days=1),
            )
            WebhookAttempt.objects.create(tenant_id=t.pk, delivery=done, number=1)
            waiting = WebhookDelivery.objects.create(
                tenant_id=t.pk,
                endpoint=endpoint,
                event_id=event.pk,
                event_type=event.type,
                created_at=old,
                next_attempt_at=timezone.now() + timedelta(days=1),
            )
        rows[t.pk] = (event, recent, done, waiting)
    with tenant_scope(tenant):
        assert deliveries.webhooks_purge(tenant=tenant) == {"events": 1, "deliveries": 1}
        event, recent, done, waiting = rows[tenant.pk]
        assert list(WebhookEvent.objects.values_list("pk", flat=True)) == [recent.pk]
        assert list(WebhookDelivery.objects.values_list("pk", flat=True)) == [waiting.pk]
    with tenant_scope(other):
        assert WebhookEvent.objects.count() == 2 and WebhookDelivery.objects.count() == 2
    totals = purge.apply().get()
    assert totals["events"] >= 1
    with tenant_scope(other):
        assert WebhookEvent.objects.count() == 1 and WebhookDelivery.objects.count() == 1
