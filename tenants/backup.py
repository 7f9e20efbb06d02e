"""Operator backups: written where only operators can read them.

Deleting a tenant writes one (tenants.services); restoring it, which re-creates the
tenant, is tenants.restore (above the services, so the imports point one way).
"""

from __future__ import annotations

import os
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from tenants import residency
from tenants.export import BACKUP, tenant_export


def backup_dir(region: str | None = None) -> Path:
    """The region's backup directory, created 0700 (operators only; never served).

    TENANT_BACKUP_DIR for the default region (tenants.residency).
    """
    path = residency.backup_dir(region or settings.TENANT_DEFAULT_REGION)
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(path, 0o700)
    return path


def backup_path_for(tenant) -> Path:
    return (
        backup_dir(tenant.region)
        / f"{tenant.subdomain}-{tenant.pk.hex[:8]}-{timezone.now():%Y%m%dT%H%M%S}.jsonl"
    )


def backup_target_problem(region: str, path: str | Path) -> str | None:
    """Why a backup could not be written at `path` (one line), or None.

    For checks before anything changes (delete_tenant): the region's storage, a file
    already there, a directory that is missing or not writable. export_write still
    opens the file with O_EXCL when it writes.
    """
    try:
        target = residency.check_path(region, path)
    except residency.ResidencyError as exc:
        return str(exc)
    if target.exists() or target.is_symlink():
        return f"{target} exists; choose another --output"
    if not target.parent.is_dir() or not os.access(target.parent, os.W_OK | os.X_OK):
        return f"cannot write the backup in {target.parent}: not a writable directory"
    return None


def backup_write(*, tenant, path: str | Path | None = None) -> tuple[Path, int]:
    """Write the tenant's operator backup (a new 0600 file); returns (path, rows).

    ResidencyError when the path (or the region's storage) is not the tenant's region's.
    """
    return export_write(tenant=tenant, path=path or backup_path_for(tenant), kind=BACKUP)


def export_write(*, tenant, path: str | Path, kind: str) -> tuple[Path, int]:
    """Write one of the tenant's exports (customer or backup) to a new file; returns (path, rows).

    Both hold the tenant's personal data: 0600 (whatever the umask), and O_EXCL, so an
    existing file, or a link somebody prepared, is never written through (FileExistsError).
    ResidencyError when the path is not in the tenant's region's storage.
    """
    target = residency.check_path(tenant.region, path)
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as stream:
            rows = sum(tenant_export(tenant=tenant, stream=stream, kind=kind).values())
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    return target, rows
