"""Idempotency keys: claim a key inside the write's transaction, store its response, replay it.

The claim is insert-first: `INSERT … ON CONFLICT DO NOTHING` on the unique
(tenant_id, credential, key). A concurrent request with the same key blocks on
that index entry until the first transaction ends: after a commit it finds the
finished record and replays it; after a rollback (a 5xx, a crash) it inserts
and runs the write itself. The record and the write commit or vanish together,
so no record ever describes a write that did not happen, and no in-progress
state is ever visible to another transaction.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import timedelta

from django.db import connections
from django.utils import timezone

from idempotency.models import IdempotencyRecord
from tenants.routers import data_alias

RETENTION = timedelta(hours=24)
HEADER = "Idempotency-Key"
REPLAY_HEADER = "Idempotent-Replayed"
# Printable ASCII, 1–255 characters (space included, control characters not).
KEY_RE = re.compile(r"[\x20-\x7e]{1,255}")
# Response headers worth replaying: the rest (rate limit, Vary, …) belong to the retry.
STORED_HEADERS = ("Content-Type", "Location", "ETag")


class InvalidKey(ValueError):
    pass


class KeyReused(Exception):
    """The key was already used for a different request (method, path or body)."""


class KeyInProgress(Exception):
    """A record without a response: never committed in normal operation (defensive)."""


@dataclass
class Claim:
    record: IdempotencyRecord
    replay: bool  # True: record holds the finished first response


def key_validate(raw: str) -> str:
    if not KEY_RE.fullmatch(raw):
        raise InvalidKey("Idempotency-Key must be 1–255 printable ASCII characters.")
    return raw


def idempotency_claim(
    *, tenant, credential: str, key: str, method: str, path: str, body_sha256: str
) -> Claim:
    """Own the key (replay=False) or lock its finished record (replay=True).

    Must run inside `tenant_atomic()`: the inserted row, its lock and the write
    it guards all belong to that transaction.
    """
    now = timezone.now()
    alias = data_alias()
    fresh = IdempotencyRecord(
        id=uuid.uuid4(),
        tenant_id=tenant.pk,
        credential=credential,
        key=key,
        method=method,
        path=path,
        body_sha256=body_sha256,
        created_at=now,
        expires_at=now + RETENTION,
    )
    table = IdempotencyRecord._meta.db_table
    with connections[alias].cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} "  # the model's own table name
            "(id, tenant_id, credential, key, method, path, body_sha256, headers, body,"
            " created_at, expires_at) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, '{}'::jsonb, ''::bytea, %s, %s) "
            "ON CONFLICT (tenant_id, credential, key) DO NOTHING RETURNING id",
            [
                fresh.id,
                tenant.pk,
                credential,
                key,
                method,
                path,
                body_sha256,
                now,
                fresh.expires_at,
            ],
        )
        inserted = cursor.fetchone() is not None
    if inserted:
        fresh._state.adding, fresh._state.db = False, alias
        return Claim(fresh, False)
    record = IdempotencyRecord.objects.select_for_update().get(
        tenant_id=tenant.pk, credential=credential, key=key
    )
    if record.expires_at <= now:
        # Past retention but not yet purged: the key is free again.
        record.method, record.path, record.body_sha256 = method, path, body_sha256
        record.status_code, record.headers, record.body = None, {}, b""
        record.created_at, record.expires_at = now, now + RETENTION
        record.save()
        return Claim(record, False)
    if (record.method, record.path, record.body_sha256) != (method, path, body_sha256):
        raise KeyReused()
    if record.status_code is None:
        raise KeyInProgress()
    return Claim(record, True)


def idempotency_store(*, claim: Claim, status_code: int, headers: dict, body: bytes) -> None:
    """Record the first response on the claimed row (same transaction as the write)."""
    record = claim.record
    record.status_code = status_code
    record.headers = {k: v for k, v in headers.items() if k in STORED_HEADERS}
    record.body = body
    record.save(update_fields=["status_code", "headers", "body"])


def idempotency_purge(*, tenant, now=None) -> int:
    """Delete the tenant's expired records: one indexed DELETE (tenant_id, expires_at)."""
    now = now or timezone.now()
    deleted, _ = IdempotencyRecord.objects.filter(tenant_id=tenant.pk, expires_at__lte=now).delete()
    return deleted
