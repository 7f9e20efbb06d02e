"""Export and import one tenant's rows as JSON lines (every tenant-owned model, FK order).

The first line is a header naming the tenant; every further line is one row
in Django's serialisation ({"model", "pk", "fields"}), fields including
`tenant_id`. Models are discovered generically (subclasses of TenantOwned) and
ordered so a row's foreign keys point at rows already written. Reads and
writes run in the tenant's scope, so RLS guarantees the export holds exactly
that tenant's rows and an import can write no other tenant's.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Callable

from django.apps import apps
from django.core import serializers
from django.core.serializers.json import DjangoJSONEncoder
from django.utils import timezone

from tenants.context import tenant_scope
from tenants.models import TenantOwned
from tenants.routers import data_alias
from tenants.transactions import tenant_atomic

FORMAT = "tenantry-export"
VERSION = 1


class _Encoder(DjangoJSONEncoder):
    # DjangoJSONEncoder cuts datetimes to milliseconds; a restore must be exact.
    def default(self, o):
        if isinstance(o, datetime.datetime | datetime.time):
            return o.isoformat()
        return super().default(o)


class ImportRefused(Exception):
    """The file is not an export of this tenant (or not an export at all). Nothing was written."""


def tenant_models() -> list[type]:
    """Every concrete tenant-owned model, parents before children (FK dependency order)."""
    found = [
        m
        for m in apps.get_models()
        if issubclass(m, TenantOwned) and not m._meta.abstract and not m._meta.proxy
    ]
    found.sort(key=lambda m: m._meta.label)
    deps = {
        m: {
            f.related_model
            for f in m._meta.concrete_fields
            if f.is_relation and f.related_model in found and f.related_model is not m
        }
        for m in found
    }
    ordered: list[type] = []
    while deps:
        ready = [m for m, d in deps.items() if not d - set(ordered)]
        if not ready:
            raise RuntimeError(f"circular foreign keys between tenant models: {list(deps)}")
        for m in ready:
            ordered.append(m)
            del deps[m]
    return ordered


def tenant_export(
    *, tenant, stream, progress: Callable[[int, str], None] | None = None
) -> dict[str, int]:
    """Write the tenant's rows to a text stream; returns rows per model label."""
    serializer = serializers.get_serializer("python")()
    models = tenant_models()
    counts: dict[str, int] = {}
    header = {
        "format": FORMAT,
        "version": VERSION,
        "tenant": str(tenant.pk),
        "subdomain": tenant.subdomain,
        "exported_at": timezone.now().isoformat(),
        "models": [m._meta.label for m in models],
    }
    stream.write(json.dumps(header) + "\n")
    with tenant_scope(tenant), tenant_atomic():  # one snapshot across all tables
        for index, model in enumerate(models):
            label = model._meta.label
            counts[label] = 0
            rows = model.unscoped.filter(tenant_id=tenant.pk).order_by("pk")
            for obj in rows.iterator(chunk_size=500):
                record = serializer.serialize([obj])[0]
                stream.write(json.dumps(record, cls=_Encoder) + "\n")
                counts[label] += 1
            if progress is not None:
                progress(int(100 * (index + 1) / len(models)), f"exported {label}")
    return counts


def tenant_import(*, tenant, stream) -> dict[str, int]:
    """Restore rows from an export of this same tenant (all or nothing)."""
    first = stream.readline()
    try:
        header = json.loads(first)
    except ValueError:
        raise ImportRefused("Not a tenant export: the first line is not a header.") from None
    if header.get("format") != FORMAT or header.get("version") != VERSION:
        raise ImportRefused("Not a tenant export of a supported version.")
    if header.get("tenant") != str(tenant.pk):
        raise ImportRefused(
            f"This export belongs to another tenant ({header.get('subdomain')}); "
            f"refusing to import it into {tenant.subdomain}."
        )
    allowed = {m._meta.label: m for m in tenant_models()}
    counts: dict[str, int] = {}
    batch: list = []
    with tenant_scope(tenant), tenant_atomic():
        for number, line in enumerate(stream, start=2):
            if not line.strip():
                continue
            record = json.loads(line)
            label = apps.get_model(record["model"])._meta.label
            if label not in allowed:
                raise ImportRefused(f"line {number}: {label} is not tenant-owned data")
            if record.get("fields", {}).get("tenant_id") != str(tenant.pk):
                raise ImportRefused(f"line {number}: a row of another tenant; nothing imported")
            if batch and (batch[-1][0] != label or len(batch) >= BATCH):
                _restore(batch)
                batch = []
            batch.append((label, record))
            counts[label] = counts.get(label, 0) + 1
        if batch:
            _restore(batch)
    return counts


BATCH = 500


def _restore(batch: list) -> None:
    """Write one model's rows: a multi-row INSERT for new ones, an UPDATE for existing ones.

    Rows are inserted `raw` (as Django's deserializer saves them), so
    auto_now/auto_now_add keep the exported values.
    """
    objects = [d.object for d in serializers.deserialize("python", [r for _, r in batch])]
    model = type(objects[0])
    manager = model._base_manager.using(data_alias())
    existing = set(manager.filter(pk__in=[o.pk for o in objects]).values_list("pk", flat=True))
    new = [o for o in objects if o.pk not in existing]
    if new:
        manager._insert(new, fields=model._meta.local_concrete_fields, raw=True, using=data_alias())
    for obj in objects:
        if obj.pk in existing:
            obj.save_base(raw=True, force_update=True, using=data_alias())
