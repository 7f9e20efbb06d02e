"""Where a tenant's files may be written: one storage root per region (TENANT_REGION_STORAGE).

Exports a tenant's admins download and operator backups hold the tenant's
personal data like its rows do, so they follow its region: under
`TENANT_REGION_STORAGE[region]` (`exports/`, `backups/`). The default region
without an entry keeps the single-region stores (MEDIA_ROOT/exports,
TENANT_BACKUP_DIR). A region with no entry is refused, never written to
another region's disk; an explicit path outside the region's root is refused
too. docs/residency.md lists every store.

Rows of the control plane are global, so they carry no personal data: `redact` and
`error_summary` keep email addresses (and an error's row values) out of the status
text they record.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from django.conf import settings


class ResidencyError(Exception):
    """A write that would put a tenant's data outside its region."""


def region_root(region: str) -> Path | None:
    """The region's storage root; None for the default region's single-region stores."""
    roots = settings.TENANT_REGION_STORAGE
    if region in roots:
        return Path(roots[region])
    if region == settings.TENANT_DEFAULT_REGION:
        return None
    raise ResidencyError(
        f"no storage configured for region {region!r} (TENANT_REGION_STORAGE): "
        "its files are never written to another region's"
    )


def export_dir(region: str) -> Path:
    root = region_root(region)
    return root / "exports" if root is not None else Path(settings.MEDIA_ROOT) / "exports"


def exports_remove(region: str, tenant_id) -> None:
    """Remove the tenant's customer exports (its deletion: the files hold its rows).

    Never raises: a region without storage never had exports, and a deletion already
    under way must finish."""
    try:
        folder = export_dir(region) / str(tenant_id)
    except ResidencyError:
        return
    shutil.rmtree(folder, ignore_errors=True)


def backup_dir(region: str) -> Path:
    root = region_root(region)
    return root / "backups" if root is not None else Path(settings.TENANT_BACKUP_DIR)


def check_path(region: str, path: str | Path) -> Path:
    """`path`, if a file of a tenant of `region` may be written there; ResidencyError otherwise."""
    target = Path(path)
    root = region_root(region)
    if root is not None and not target.resolve().is_relative_to(root.resolve()):
        raise ResidencyError(
            f"{target} is outside the storage of region {region!r} ({root}); "
            "write it under that directory"
        )
    return target


# What an email address looks like, for `redact`: generous on purpose (a false positive
# costs a word of a status message, a miss costs residency).
_ADDRESS = re.compile(r"[^\s@<>()\[\]{}'\",;:]+@[^\s@<>()\[\]{}'\",;:]+")


def redact(text: str) -> str:
    """`text` with every email address replaced: for status text kept in global tables.

    Records of the control plane (job and outbox rows) carry ids, counts and codes, never
    a person's details; their free-text status lines pass through here as a last guard.
    """
    return _ADDRESS.sub("<address>", text or "")


def error_summary(exc: BaseException, limit: int = 500) -> str:
    """What a global row may record of a failure: its class and first line, addresses removed.

    PostgreSQL puts row values only in an error's DETAIL (a later line), and an SMTP
    refusal names its recipients: neither is kept. The full error goes to the log.
    """
    first = next(iter(str(exc).splitlines()), "")
    return redact(f"{exc.__class__.__name__}: {first}" if first else exc.__class__.__name__)[:limit]
