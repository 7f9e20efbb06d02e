"""The registry of PostgreSQL servers for database-per-tenant placements, and data residency."""

from __future__ import annotations

import re
from urllib.parse import urlparse

from django.conf import settings

from tenants.control import control_alias
from tenants.models import DatabaseServer


class PlacementError(Exception):
    """A placement request that cannot be honoured (unknown server, wrong region…)."""


def _slug_for(url: str) -> str:
    parsed = urlparse(url)
    base = f"{parsed.hostname or 'local'}-{parsed.port or 5432}"
    return re.sub(r"[^a-z0-9-]+", "-", base.lower()).strip("-")[:60]


def server_register(*, name: str, url: str, region: str) -> DatabaseServer:
    server, created = DatabaseServer.objects.using(
        control_alias(f"registering database server {name}")
    ).get_or_create(name=name, defaults={"url": url, "region": region})
    if not created and (server.url != url or server.region != region):
        raise PlacementError(f"server {name!r} exists with another URL or region")
    return server


def server_for_placement(
    *, region: str, name: str | None = None, database_url: str | None = None
) -> DatabaseServer:
    """The server a database-mode tenant of `region` goes to; never one of another region."""
    if name and database_url:
        raise PlacementError("give --server or --database-url, not both")
    if name:
        server = DatabaseServer.objects.filter(name=name, is_active=True).first()
        if server is None:
            names = ", ".join(DatabaseServer.objects.values_list("name", flat=True)) or "none"
            raise PlacementError(f"no database server named {name!r} (registered: {names})")
    elif database_url:
        server = DatabaseServer.objects.filter(url=database_url).first()
        if server is None:
            name = _unique_name(_slug_for(database_url))
            server = DatabaseServer.objects.using(
                control_alias(f"registering database server {name}")
            ).create(name=name, url=database_url, region=region)
    else:
        from tenants.backends.database import default_server

        main = default_server()
        server = (
            main
            if main.region == region
            else (
                DatabaseServer.objects.filter(region=region, is_active=True)
                .order_by("name")
                .first()
            )
        )
        if server is None:
            raise PlacementError(f"no database server registered in region {region!r}")
    if server.region != region:
        raise PlacementError(
            f"server {server.name!r} is in region {server.region!r}: data of a tenant in region "
            f"{region!r} is never placed there"
        )
    return server


def _unique_name(base: str) -> str:
    name, n = base or "server", 1
    while DatabaseServer.objects.filter(name=name).exists():
        n += 1
        name = f"{base}-{n}"
    return name


def default_region() -> str:
    return settings.TENANT_DEFAULT_REGION
