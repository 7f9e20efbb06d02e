"""The per-process cache of a tenant's webhook subscriptions: a write that records an event
reads no endpoint in the steady state, and a subscription change is seen at once in the
process that made it, on NOTIFY in every other, and after the bound when no message comes.

The test settings turn the cache off (tests change rows in transactions that never commit);
each test here turns it on.
"""

from __future__ import annotations

import threading
import time
import uuid
from contextlib import ExitStack, contextmanager

import psycopg
import pytest
from django.db import DEFAULT_DB_ALIAS, connections
from django.test.utils import CaptureQueriesContext

from projects.services import project_create
from tenants.context import tenant_scope
from tenants.registry_listener import CHANNEL
from tenants.routers import data_alias
from tests.conftest import make_tenant
from tests.webhooks.conftest import register
from webhooks import endpoints, subscription_cache
from webhooks.events import _subscribed, event_record
from webhooks.models import WebhookEndpoint, WebhookEvent
from webhooks.transactions import both_atomic, delivery_alias

pytestmark = pytest.mark.usefixtures("committed_db", "loopback_allowed")

ENDPOINT_TABLE = "webhooks_webhookendpoint"
NOTIFY_WITHIN = 3.0
LOOPBACK = "http://127.0.0.1:9/hook"  # never called: no event is dispatched to it


@pytest.fixture
def cache_on(settings):
    """A long bound, so that only an invalidation can explain a change seen quickly."""
    settings.TENANT_REGISTRY_MAX_AGE = 30.0
    settings.WEBHOOK_SUBSCRIPTION_CACHE_SECONDS = 30.0
    subscription_cache.forget_all()
    yield settings
    subscription_cache.forget_all()


@contextmanager
def endpoint_reads(tenant):
    """Every statement of the aliases an event write can touch."""
    aliases = {DEFAULT_DB_ALIAS, delivery_alias(), data_alias(tenant)}
    with ExitStack() as stack:
        yield [stack.enter_context(CaptureQueriesContext(connections[a])) for a in aliases]


def count_endpoint_reads(captured) -> int:
    return sum(ENDPOINT_TABLE in q["sql"] for c in captured for q in c.captured_queries)


def until(predicate, within: float) -> float:
    start = time.monotonic()
    while time.monotonic() - start < within:
        if predicate():
            return time.monotonic() - start
        time.sleep(0.05)
    raise AssertionError(f"not seen within {within} s")


def on_another_connection(work) -> None:
    """Run `work` in a thread (its own database connection) and commit it there."""
    failure = []

    def run():
        try:
            work()
        except Exception as exc:  # pragma: no cover - reported below
            failure.append(exc)
        finally:
            for conn in connections.all():
                conn.close()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    assert not failure, failure


def listener_caught_up(database_url: str) -> None:
    """Wait until this process's registry listener (running: `registry_listening`) has
    handled every NOTIFY committed so far.

    PostgreSQL delivers notifications in commit order, so a marker sent now is handled after
    them: a drop still on its way (or the listener's reset when it first connects) would
    otherwise empty, on a busy host, the cache a test has just filled.
    """
    marker = str(uuid.uuid4())
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("SELECT pg_notify(%s, %s)", [CHANNEL, f"{subscription_cache.PAYLOAD}{marker}"])
    until(lambda: marker in subscription_cache._cache._dropped, NOTIFY_WITHIN)


def test_the_steady_state_records_an_event_with_no_endpoint_read(
    cache_on, receiver, mode, test_database_url, registry_listening
):
    tenant = make_tenant(mode, "whkc")
    quiet = make_tenant(mode, "whkq")  # no endpoint: nothing written, nothing read either
    register(tenant, receiver.url(), events=["project.created"])
    listener_caught_up(test_database_url)  # the registration's own NOTIFY is handled
    with tenant_scope(tenant):
        project_create(tenant=tenant, name="first")  # fills the cache
        # Committed after the capture: dispatching (which reads the endpoints) is not the write.
        with both_atomic(), endpoint_reads(tenant) as captured:
            project_create(tenant=tenant, name="second")
        assert count_endpoint_reads(captured) == 0
        assert WebhookEvent.objects.filter(type="project.created").count() == 2
    assert len(receiver.wait_for(2)) == 2
    with tenant_scope(quiet):
        project_create(tenant=quiet, name="unheard")
        with both_atomic(), endpoint_reads(quiet) as captured:
            project_create(tenant=quiet, name="still unheard")
        assert count_endpoint_reads(captured) == 0
        assert WebhookEvent.objects.count() == 0  # another tenant's subscription is not its own


def test_a_change_through_the_service_takes_effect_at_once_in_this_process(cache_on, receiver):
    tenant = make_tenant("shared", "whks")
    with tenant_scope(tenant):
        assert not _subscribed(tenant, "task.created")  # cached: nobody listens
        endpoint = endpoints.endpoint_create(
            tenant=tenant, url=receiver.url(), events=["task.created"]
        )
        assert _subscribed(tenant, "task.created")
        assert not _subscribed(tenant, "project.created")
        endpoints.endpoint_update(tenant=tenant, endpoint=endpoint, events=["project.created"])
        assert (_subscribed(tenant, "task.created"), _subscribed(tenant, "project.created")) == (
            False,
            True,
        )
        endpoints.endpoint_update(tenant=tenant, endpoint=endpoint, is_enabled=False)
        assert not _subscribed(tenant, "project.created")
        endpoints.endpoint_update(tenant=tenant, endpoint=endpoint, is_enabled=True)
        assert _subscribed(tenant, "project.created")
        endpoints.endpoint_delete(tenant=tenant, endpoint=endpoint)
        assert not _subscribed(tenant, "project.created")
        assert event_record(tenant=tenant, type="project.created", data={}) is None


def test_a_change_committed_elsewhere_reaches_this_process_on_notify(
    cache_on, registry_listening, mode
):
    tenant = make_tenant(mode, "whkn")
    endpoint_ids = []

    def subscribe():
        with tenant_scope(tenant):  # the ORM, not the service: no drop in this process
            endpoint_ids.append(
                WebhookEndpoint.objects.create(
                    tenant_id=tenant.pk, url=LOOPBACK, events=["task.updated"]
                ).pk
            )

    def change(**fields):
        def work():
            with tenant_scope(tenant):
                WebhookEndpoint.objects.filter(pk=endpoint_ids[0]).update(**fields)

        return work

    def delete():
        with tenant_scope(tenant):
            WebhookEndpoint.objects.filter(pk=endpoint_ids[0]).delete()

    with tenant_scope(tenant):
        assert not _subscribed(tenant, "task.updated")  # cached for 30 s
        on_another_connection(subscribe)
        until(lambda: _subscribed(tenant, "task.updated"), NOTIFY_WITHIN)
        on_another_connection(change(is_enabled=False))
        until(lambda: not _subscribed(tenant, "task.updated"), NOTIFY_WITHIN)
        on_another_connection(change(is_enabled=True, events=["task.deleted"]))
        until(lambda: _subscribed(tenant, "task.deleted"), NOTIFY_WITHIN)
        on_another_connection(delete)
        until(lambda: not _subscribed(tenant, "task.deleted"), NOTIFY_WITHIN)


def test_the_trigger_notifies_subscription_changes_only(cache_on, test_database_url):
    tenant = make_tenant("shared", "whkt")
    with psycopg.connect(test_database_url, autocommit=True) as listener:
        listener.execute(f"LISTEN {CHANNEL}")

        def heard() -> list[str]:
            notes = listener.notifies(timeout=0.5)
            return [n.payload for n in notes if n.payload.startswith("whk:")]

        endpoint = register(tenant, LOOPBACK, events=["task.created"])
        assert f"whk:{tenant.pk}" in heard()
        with tenant_scope(tenant):
            rows = WebhookEndpoint.objects.filter(pk=endpoint.pk)
            rows.update(consecutive_failures=3, description="not a subscription")
            assert heard() == []  # the failure run changes on every attempt: no message
            rows.update(events=["task.updated"])
            assert heard() == [f"whk:{tenant.pk}"]


def test_the_bound_holds_when_no_message_arrives(settings, mode):
    settings.TENANT_REGISTRY_MAX_AGE = 0.5
    settings.WEBHOOK_SUBSCRIPTION_CACHE_SECONDS = 30.0  # capped by the registry's bound
    assert subscription_cache.bound() == 0.5
    subscription_cache.forget_all()
    tenant = make_tenant(mode, "whkb")

    class RolledBack(Exception):
        pass

    with tenant_scope(tenant), pytest.raises(RolledBack), both_atomic():
        assert event_record(tenant=tenant, type="project.created", data={}) is None  # cached
        # Not committed (so no NOTIFY) and not through the service: only the bound can help.
        WebhookEndpoint.objects.create(
            tenant_id=tenant.pk, url=LOOPBACK, events=["project.created"]
        )
        assert event_record(tenant=tenant, type="project.created", data={}) is None
        time.sleep(0.55)
        assert event_record(tenant=tenant, type="project.created", data={}) is not None
        raise RolledBack
    subscription_cache.forget_all()


def test_an_invalidation_racing_a_fill_is_not_lost(cache_on):
    read_at = subscription_cache.read_time()  # a fill starts reading ...
    subscription_cache.forget_tenant("t-1")  # ... a change is heard meanwhile ...
    subscription_cache.put("t-1", {"project.created"}, read_at)  # ... its old answer arrives
    assert subscription_cache.get("t-1") is None
    subscription_cache.put("t-1", {"project.created"}, subscription_cache.read_time())
    assert subscription_cache.get("t-1") == {"project.created"}
    read_at = subscription_cache.read_time()
    subscription_cache.forget_all()
    subscription_cache.put("t-2", set(), read_at)
    assert subscription_cache.get("t-2") is None


def test_the_cache_is_off_at_zero(settings):
    settings.WEBHOOK_SUBSCRIPTION_CACHE_SECONDS = 0
    subscription_cache.put("t-3", {"project.created"}, subscription_cache.read_time())
    assert subscription_cache.get("t-3") is None
