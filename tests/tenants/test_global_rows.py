"""Residency of the control plane: global rows and broker messages carry ids, never a person.

A tenant of a non-default region (its server is a registry entry on the main cluster with
its own pool database, so its users live outside the main database) is driven through the
real doors: a member invited and joining by HTTP, an export requested, the plan changed.
No row of a global table (every `tenant_placed = False` model: outbox, jobs, billing, SLA,
webhook delivery state) and no message queued in the real broker holds the member's or the
owner's address or the member's name. The pages still show the address, read from the
tenant's placement when they render (docs/residency.md).
"""

from __future__ import annotations

import base64
import io
import json
import re
import uuid

import psycopg
import pytest
import redis
from django.apps import apps
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django.test import Client, override_settings

from accounts.models import User
from jobs.models import Job
from tenants.context import tenant_scope
from tenants.database_config import admin_conninfo
from tenants.models import DatabaseServer
from tenants.services import tenant_get
from tests.conftest import unique_subdomain
from tests.factories.accounts import PASSWORD
from tests.jobs.conftest import REDIS_URL, broker_at, redis_broker  # noqa: F401 (fixtures)

pytestmark = [pytest.mark.slow]

JSON = {"HTTP_ACCEPT": "application/json"}
PAGE = {"HTTP_ACCEPT": "text/html"}


def global_tables() -> list[str]:
    """Every table of a tenant-owned model kept in the main database whatever the placement."""
    tables = [
        m._meta.db_table
        for m in apps.get_models()
        if getattr(m, "tenant_placed", True) is False
        and any(f.column == "tenant_id" for f in m._meta.concrete_fields)
    ]
    assert {"jobs_job", "tenants_outboxmessage", "billing_planchange"} <= set(tables)
    assert "observability_slarollup" in tables
    return sorted(tables)


def global_rows(tenant) -> dict[str, list[str]]:
    """Each global table's rows of `tenant`, as text (JSON columns included), read as superuser."""
    dbname = connection.settings_dict["NAME"]
    found = {}
    with psycopg.connect(admin_conninfo(settings.DATABASE_URL, dbname)) as conn:
        for table in global_tables():
            rows = conn.execute(
                f"SELECT t::text FROM {table} AS t WHERE tenant_id = %s", [tenant.pk]
            ).fetchall()
            found[table] = [r[0] for r in rows]
    return found


def broker_messages(app) -> list[str]:
    """Every message waiting in this process's namespaced Redis broker, envelope and body."""
    prefix = app.conf.broker_transport_options.get("global_keyprefix", "")
    client = redis.Redis.from_url(REDIS_URL)
    texts = []
    for key in client.scan_iter(f"{prefix}*"):
        kind = client.type(key).decode()
        if kind == "list":
            items = client.lrange(key, 0, -1)
        elif kind == "hash":
            items = list(client.hgetall(key).values())
        else:
            continue
        for raw in items:
            text = raw.decode()
            texts.append(text)
            try:
                envelope = json.loads(text)
            except ValueError:
                continue
            if isinstance(envelope, list):  # unacked entries: [message, exchange, key]
                envelope = envelope[0]
            if isinstance(envelope, dict) and envelope.get("body"):
                texts.append(base64.b64decode(envelope["body"]).decode())
    return texts


def sign_in(host: str, email: str) -> Client:
    client = Client(HTTP_HOST=host)
    response = client.post("/accounts/login/", {"email": email, "password": PASSWORD})
    assert response.status_code == 302, response.content.decode()[-500:]
    return client


def invite_and_join(owner: Client, host: str, email: str, name: str, mailoutbox) -> None:
    response = owner.post("/members/", {"email": email, "role": "member"})
    assert response.status_code == 302, response.content.decode()[-500:]
    [mail] = [m for m in mailoutbox if email in m.to]  # sent by the outbox task (eager)
    token = re.search(r"/invitations/accept/([^/\s]+)/", mail.body).group(1)
    joined = Client(HTTP_HOST=host).post(
        f"/invitations/accept/{token}/", {"name": name, "password": PASSWORD}
    )
    assert joined.status_code == 302, joined.content.decode()[-500:]


@pytest.fixture
def regional_tenant(committed_db, tmp_path):
    """A tenant of region `res-…` on that region's own server (a pool on the main cluster)."""
    tag = uuid.uuid4().hex[:6]
    region, server = f"res-{tag}", f"res1-{tag}"
    call_command(
        "add_database_server",
        server,
        "--url",
        settings.DATABASE_URL,
        "--region",
        region,
        stdout=io.StringIO(),
    )
    sub = unique_subdomain("gdpr")
    owner_email = f"owner.{tag}@customer.example"
    call_command(
        "create_tenant",
        "--name",
        "Residency Ltd",
        "--subdomain",
        sub,
        "--region",
        region,
        "--server",
        server,
        "--plan",
        "free",
        "--owner-email",
        owner_email,
        "--owner-password",
        PASSWORD,
        stdout=io.StringIO(),
    )
    tenant = tenant_get(sub)
    assert tenant.region == region and tenant.database_server.name == server
    with override_settings(TENANT_REGION_STORAGE={region: str(tmp_path / region)}):
        yield tenant, owner_email
    DatabaseServer.objects.using("operator").filter(name=server).update(is_active=False)


def test_global_rows_and_broker_messages_hold_no_personal_data(
    regional_tenant, mailoutbox, request
):
    tenant, owner_email = regional_tenant
    host = f"{tenant.subdomain}.{settings.BASE_DOMAIN}"
    member_email, member_name = "zelda.q@people.example", "Zelda Quixote"
    owner = sign_in(host, owner_email)

    # The doors, tasks running in-process (eager): invitation mail, export, plan change.
    invite_and_join(owner, host, member_email, member_name, mailoutbox)
    started = owner.post("/exports/", **JSON)
    assert started.status_code == 202, started.content
    export = owner.get(f"/exports/{started.json()['id']}/").json()
    assert export["status"] == "succeeded", export
    assert owner.post("/billing/", {"plan": "pro"}).status_code == 302
    assert tenant_get(tenant.subdomain).plan.code == "pro"

    # The member is a row of the tenant's placement (its pool), not of the main database.
    with tenant_scope(tenant_get(tenant.subdomain)):
        member = User.objects.get(tenant_id=tenant.pk, email=member_email)
        assert member.name == member_name
    # The page still names who asked, read from the placement at render time.
    html = owner.get("/exports/", **PAGE).content.decode()
    assert f'<td data-label="By">{owner_email}</td>' in html

    rows = global_rows(tenant)
    assert rows["jobs_job"] and rows["tenants_outboxmessage"] and rows["billing_planchange"]
    with tenant_scope(tenant):
        job = Job.objects.get(tenant_id=tenant.pk)
    assert job.requester_id is not None and job.requested_by == ""
    personal = [owner_email, member_email, member_name]
    leaks = [(t, r) for t, found in rows.items() for r in found for p in personal if p in r]
    assert leaks == []

    # A real broker (no worker): what waits in the queue is ids and headers only.
    app = request.getfixturevalue("redis_broker")
    second = "yann.second@people.example"
    assert owner.post("/members/", {"email": second, "role": "member"}).status_code == 302
    queued = owner.post("/exports/", **JSON)
    assert queued.status_code == 202, queued.content
    messages = broker_messages(app)
    names = " ".join(messages)
    assert "accounts.send_invitation_email" in names and "jobs.run" in names
    assert str(tenant.pk) in names  # the tenant header
    personal.append(second)
    assert [m for m in messages for p in personal if p in m] == []
    rows = global_rows(tenant)
    assert [(t, r) for t, found in rows.items() for r in found for p in personal if p in r] == []
    app.control.purge()


def test_the_outbox_refuses_an_address_and_status_text_drops_addresses(tenant_a):
    import smtplib

    from accounts.tasks import send_password_reset_email
    from tenants.outbox import outbox_enqueue
    from tenants.residency import error_summary, redact
    from tenants.transactions import tenant_atomic

    with tenant_scope(tenant_a), tenant_atomic():
        with pytest.raises(ValueError, match="never by an email address"):
            outbox_enqueue(send_password_reset_email, "someone@people.example")
        row = outbox_enqueue(send_password_reset_email, str(uuid.uuid4()))
        assert row.args and "@" not in json.dumps(row.args)

    refused = smtplib.SMTPRecipientsRefused({"someone@people.example": (550, b"no such user")})
    assert "someone@people.example" in str(refused)
    assert error_summary(refused) == "SMTPRecipientsRefused: {'<address>': (550, b'no such user')}"
    detail = Exception(
        'duplicate key value violates unique constraint "u"\nDETAIL:  Key (email)=(a@b.c)'
    )
    assert error_summary(detail) == 'Exception: duplicate key value violates unique constraint "u"'
    assert (
        redact("sent to <Zelda> zelda.q@people.example, done") == "sent to <Zelda> <address>, done"
    )
