"""One tenant's rows as JSON lines: the customer export and the operator backup.

Two kinds, one format (header line, then one row per line in Django's
serialisation {"model", "pk", "fields"}, parents before children):

* `customer` — what a tenant's admins download. An allow-list: only models
  that declare `export_fields`, and only those fields. Nothing that
  authenticates (password hashes, session keys, token hashes, single-use
  tokens) and nothing operator-only is ever named there. Not restorable.
* `backup` — what `delete_tenant` keeps for operators: every field of every
  tenant-owned model except those with `in_operator_backup = False`
  (sessions). Restorable by `import_tenant` (tenants.restore), header carries
  the registry record so a deleted tenant can be re-created with its id. Its
  last line is an end marker with the rows per model: a file cut short (a
  copy that stopped, a disk that filled) is refused whole, never restored in
  part (version 3; versions 1 and 2 have no marker and cannot be checked).

Models are discovered generically (subclasses of TenantOwned); each app
declares what of its own leaves (tenants knows no product model). Reads and
writes run in the tenant's scope, so RLS guarantees the file holds exactly
that tenant's rows and an import can write no other tenant's.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Callable
from contextlib import nullcontext

from django.apps import apps
from django.conf import settings
from django.core import serializers
from django.core.serializers.json import DjangoJSONEncoder
from django.db import router
from django.utils import timezone
from django.utils.module_loading import import_string

from tenants.context import tenant_scope
from tenants.models import TenantOwned
from tenants.transactions import tenant_atomic

FORMAT = "tenantry-export"
VERSION = 3
END = "end"  # the key of a backup's last line: {"end": FORMAT, "rows": {label: count}}
CUSTOMER = "customer"
BACKUP = "backup"


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


def customer_fields(model) -> tuple[str, ...]:
    """The fields of `model` a customer export holds (its primary key always, then these).

    Fail-closed: a model that declares nothing exports nothing. A declared name
    that is not a concrete field is a bug, raised rather than guessed.
    """
    declared = getattr(model, "export_fields", None) or ()
    concrete = {f.name for f in model._meta.concrete_fields}
    unknown = set(declared) - concrete
    if unknown:
        raise RuntimeError(f"{model._meta.label}.export_fields names no field: {sorted(unknown)}")
    return ("tenant_id", *declared) if declared else ()


def export_models(kind: str) -> list[tuple[type, tuple[str, ...] | None]]:
    """(model, fields) in FK order for one kind; fields None means every field."""
    if kind == CUSTOMER:
        return [(m, customer_fields(m)) for m in tenant_models() if customer_fields(m)]
    if kind == BACKUP:
        return [(m, None) for m in tenant_models() if m.in_operator_backup]
    raise ValueError(f"unknown export kind {kind!r}")


def registry_record(tenant) -> dict:
    """What re-creating a deleted tenant needs from the control plane (operator backups only)."""
    return {
        "id": str(tenant.pk),
        "name": tenant.name,
        "subdomain": tenant.subdomain,
        "plan": tenant.plan.code,
        "isolation": tenant.isolation,
        "region": tenant.region,
        "database_server": tenant.database_server.name if tenant.database_server_id else None,
        "created_at": tenant.created_at.isoformat() if tenant.created_at else None,
        # A suspended tenant comes back suspended, with its reason (tenant_recreate).
        "suspended": tenant.status == "suspended",
        "status_reason": tenant.status_reason if tenant.status == "suspended" else "",
    }


def tenant_export(
    *,
    tenant,
    stream,
    kind: str = CUSTOMER,
    progress: Callable[[int, str], None] | None = None,
) -> dict[str, int]:
    """Write the tenant's rows of one kind to a text stream; returns rows per model label."""
    serializer = serializers.get_serializer("python")()
    models = export_models(kind)
    counts: dict[str, int] = {}
    header = {
        "format": FORMAT,
        "version": VERSION,
        "kind": kind,
        "tenant": str(tenant.pk),
        "subdomain": tenant.subdomain,
        "exported_at": timezone.now().isoformat(),
        "models": {m._meta.label: list(fields) if fields else "*" for m, fields in models},
    }
    if kind == BACKUP:
        header["registry"] = registry_record(tenant)
    stream.write(json.dumps(header) + "\n")
    with tenant_scope(tenant), tenant_atomic():  # one snapshot across all tables
        for index, (model, fields) in enumerate(models):
            label = model._meta.label
            counts[label] = 0
            rows = model.unscoped.filter(tenant_id=tenant.pk).order_by("pk")
            for obj in rows.iterator(chunk_size=500):
                record = serializer.serialize([obj], fields=fields)[0]
                stream.write(json.dumps(record, cls=_Encoder) + "\n")
                counts[label] += 1
            if progress is not None:
                # Said to people (the export page): the table's name, not its label.
                progress(
                    int(100 * (index + 1) / len(models)),
                    f"exported {model._meta.verbose_name_plural} ({index + 1} of {len(models)} tables)",
                )
    if kind == BACKUP:
        stream.write(json.dumps({END: FORMAT, "rows": counts}) + "\n")
    return counts


def read_header(stream) -> dict:
    """The header of an operator backup, or ImportRefused (customer exports are not restorable)."""
    try:
        header = json.loads(stream.readline())
    except ValueError:
        raise ImportRefused("Not a tenant export: the first line is not a header.") from None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise ImportRefused("Not a tenant export: the first line is not a header.")
    if header.get("version") == 1:
        header["kind"] = BACKUP  # version 1 was full fidelity; its session rows are skipped
    elif header.get("version") not in (2, VERSION):
        raise ImportRefused("Not a tenant export of a supported version.")
    if header.get("kind") != BACKUP:
        raise ImportRefused(
            "This is a customer export: it holds no passwords, sessions or tokens and cannot "
            "be restored. Restore from the operator backup (TENANT_BACKUP_DIR)."
        )
    return header


def tenant_import(
    *, tenant, stream, header: dict | None = None, recreated: bool = False, full: bool = False
) -> dict[str, int]:
    """Restore rows from an operator backup of this same tenant (all or nothing).

    `recreated`: the tenant was deleted and is coming back as it was (tenants.restore).
    Otherwise the tenant is live and the backup older than it: models that say
    `restore_over_live = False` (who may act, and how: members, tokens, invitations,
    webhook endpoints, the billing in force) keep their current rows, none added or
    changed, so a removal, revocation, demotion, rotation, cancellation or payment since
    the backup stands; restored rows pointing at a row that is not there lose the
    reference (a nullable one) or are left out. `full` (an operator's explicit choice,
    `import_tenant --full`) writes those rows as the backup has them too.
    """
    if header is None:
        header = read_header(stream)
    if header.get("tenant") != str(tenant.pk):
        raise ImportRefused(
            f"This export belongs to another tenant ({header.get('subdomain')}); "
            f"refusing to import it into {tenant.subdomain}."
        )
    allowed = {m._meta.label for m, _ in export_models(BACKUP)}
    known = {m._meta.label for m in tenant_models()}
    kept = [m for m, _ in export_models(BACKUP) if not (recreated or full or restorable_over(m))]
    counts: dict[str, int] = {}
    seen: dict[str, int] = {}  # every row of the file, for its end marker
    batch: list = []
    end, number = None, 1
    # The guard (settings.TENANT_IMPORT_GUARD, billing's) refuses what the plan does not
    # hold: restoring into a live tenant is a door like any other.
    guard = import_string(settings.TENANT_IMPORT_GUARD) if settings.TENANT_IMPORT_GUARD else None
    guarded = guard(tenant, recreated=recreated) if guard else nullcontext()
    with tenant_scope(tenant), tenant_atomic(), guarded:
        present = {
            m: set(m.unscoped.filter(tenant_id=tenant.pk).values_list("pk", flat=True))
            for m in kept
        }
        kept_labels = {m._meta.label for m in kept}
        for number, line in enumerate(stream, start=2):
            if not line.strip():
                continue
            if end is not None:
                raise ImportRefused(f"line {number}: rows after the end marker; nothing imported")
            try:
                record = json.loads(line)
            except ValueError as exc:
                raise ImportRefused(
                    f"line {number}: not a row ({exc.msg}); the file is damaged or cut short, "
                    "nothing imported"
                ) from None
            if not isinstance(record, dict) or "model" not in record:
                if isinstance(record, dict) and record.get(END) == FORMAT:
                    end = record
                    continue
                raise ImportRefused(f"line {number}: not a row; nothing imported")
            label = apps.get_model(record["model"])._meta.label
            if label not in known:
                raise ImportRefused(f"line {number}: {label} is not tenant-owned data")
            if label not in allowed:
                continue  # sessions in a version-1 file: never restored
            if record.get("fields", {}).get("tenant_id") != str(tenant.pk):
                raise ImportRefused(f"line {number}: a row of another tenant; nothing imported")
            seen[label] = seen.get(label, 0) + 1
            if label in kept_labels:
                continue
            if batch and (batch[-1][0] != label or len(batch) >= BATCH):
                _restore(batch, present, counts)
                batch = []
            batch.append((label, record))
        if batch:
            _restore(batch, present, counts)
        _check_complete(header, end, seen, number)
    return counts


def restorable_over(model) -> bool:
    """Whether a restore into a live tenant writes this model's rows (see tenant_import)."""
    return getattr(model, "restore_over_live", True)


def _references_present(obj, present: dict) -> bool:
    """Drop references to rows a live restore keeps out; False when a required one is gone."""
    for field in obj._meta.concrete_fields:
        targets = present.get(field.related_model) if field.is_relation else None
        value = getattr(obj, field.attname) if targets is not None else None
        if value is None or value in targets:
            continue
        if not field.null:
            return False
        setattr(obj, field.attname, None)
    return True


def _check_complete(header: dict, end: dict | None, counts: dict, last_line: int) -> None:
    """A version-3 backup must end with its marker, and hold the rows it says it holds."""
    if header.get("version", 0) < VERSION:
        return  # no marker in older files: their completeness cannot be checked
    if end is None:
        raise ImportRefused(
            f"The file is incomplete: it ends at line {last_line} without its end marker "
            "(cut short?); nothing imported."
        )
    expected = {k: v for k, v in (end.get("rows") or {}).items() if v}
    found = {k: v for k, v in counts.items() if v}
    if expected != found:
        raise ImportRefused(
            f"The file holds {sum(found.values())} rows where its end marker says "
            f"{sum(expected.values())}; nothing imported."
        )


BATCH = 500


def _restore(batch: list, present: dict, counts: dict) -> None:
    """Write one model's rows: a multi-row INSERT for new ones, an UPDATE for existing ones.

    Rows are inserted `raw` (as Django's deserializer saves them), so
    auto_now/auto_now_add keep the exported values. Each model goes where the
    router puts it (tenant-placed rows to the tenant's placement, the rest to
    the main database).
    """
    objects = [d.object for d in serializers.deserialize("python", [r for _, r in batch])]
    objects = [o for o in objects if _references_present(o, present)]
    if not objects:
        return
    model = type(objects[0])
    counts[model._meta.label] = counts.get(model._meta.label, 0) + len(objects)
    alias = router.db_for_write(model)
    manager = model._base_manager.using(alias)
    existing = set(manager.filter(pk__in=[o.pk for o in objects]).values_list("pk", flat=True))
    new = [o for o in objects if o.pk not in existing]
    if new:
        manager._insert(new, fields=model._meta.local_concrete_fields, raw=True, using=alias)
    for obj in objects:
        if obj.pk in existing:
            obj.save_base(raw=True, force_update=True, using=alias)
