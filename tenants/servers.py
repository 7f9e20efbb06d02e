"""The registry of PostgreSQL servers, where new placements go, and data residency.

Every registered server holds tenants of every mode: its own tenant databases,
and a pool for shared tenants and tenant schemas (tenants.backends.pools). A
server belongs to one region; a tenant is only ever placed on a server of its
own region (`check_residency`). The main server (DATABASE_URL) is registered as
"main" in TENANT_DEFAULT_REGION.

Placement rule for a new tenant (and a move that names no server): the
explicit server when one is given (`--server`, or `--database-url`, which
registers the URL in the tenant's region on first use); otherwise the least
loaded active server of the tenant's region — the fewest tenants placed on it
(deleting ones not counted), the main server first on a tie, then by name.
"""

from __future__ import annotations

import re
from urllib.parse import urlparse

import psycopg
from django.conf import settings
from django.db import transaction
from psycopg.conninfo import make_conninfo

from tenants.control import control_alias
from tenants.database_config import admin_conninfo, split_credentials
from tenants.models import DatabaseServer, DatabaseServerLogin


class PlacementError(Exception):
    """A placement request that cannot be honoured (unknown server, wrong region…)."""


def _slug_for(url: str) -> str:
    parsed = urlparse(url)
    base = f"{parsed.hostname or 'local'}-{parsed.port or 5432}"
    return re.sub(r"[^a-z0-9-]+", "-", base.lower()).strip("-")[:60]


# A registry name goes into logs, metrics and commands: a slug, as the column says.
_NAME = re.compile(r"^[a-z0-9][a-z0-9-]*$")
# How long registering waits for the server to answer before refusing it.
CONNECT_TIMEOUT = 3


def server_register(*, name: str, url: str, region: str) -> DatabaseServer:
    """Register the server at `url`: its address in the registry, its login apart (a secret).

    Refused unless the name is a slug that fits its column, the region is given, and the
    URL is a PostgreSQL URL whose login connects: a registered server is where new tenants
    of its region go, so one that cannot be reached would fail every one of them.
    """
    _check_name(name=name, region=region)
    address, _, _ = split_credentials(url)
    existing = DatabaseServer.objects.filter(name=name).first()
    if existing is None:
        _check_reachable(url)
    alias = control_alias(f"registering database server {name}")
    with transaction.atomic(using=alias):
        server, created = DatabaseServer.objects.using(alias).get_or_create(
            name=name, defaults={"address": address, "region": region}
        )
        if created:
            _store_login(server, url, alias)
    if not created and (
        split_credentials(server.url) != split_credentials(url) or server.region != region
    ):
        raise PlacementError(f"server {name!r} exists with another URL or region")
    return server


def _check_name(*, name: str, region: str) -> None:
    limit = DatabaseServer._meta.get_field("name").max_length
    if not _NAME.match(name or "") or len(name) > limit:
        raise PlacementError(
            f"server name {name!r}: use 1 to {limit} lowercase letters, digits or hyphens, "
            "starting with a letter or digit"
        )
    region_limit = DatabaseServer._meta.get_field("region").max_length
    if not (region or "").strip() or len(region) > region_limit:
        raise PlacementError(f"region {region!r}: give 1 to {region_limit} characters")


def _check_reachable(url: str) -> None:
    """Connect with the login given (the role that will create databases there)."""
    parts = urlparse(url)
    if parts.scheme not in ("postgres", "postgresql"):
        raise PlacementError(
            "--url must look like postgresql://user:password@host:5432/postgres "
            "(a role there that may create databases)"
        )
    try:
        # The maintenance database, as provisioning connects there (tenants.backends.pools).
        conninfo = make_conninfo(admin_conninfo(url, "postgres"), connect_timeout=CONNECT_TIMEOUT)
        with psycopg.connect(conninfo, autocommit=True) as conn:
            conn.execute("SELECT 1")
    except (psycopg.Error, ValueError) as exc:
        # psycopg's message names host and port, never the password.
        text = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise PlacementError(f"cannot connect to the server at --url: {text}") from None


def _store_login(server: DatabaseServer, url: str, alias: str) -> None:
    _, user, password = split_credentials(url)
    if user or password:
        DatabaseServerLogin.objects.using(alias).update_or_create(
            server=server, defaults={"user": user, "password": password}
        )


def server_for_placement(
    *, region: str, name: str | None = None, database_url: str | None = None
) -> DatabaseServer:
    """The server a placement of a tenant of `region` goes to; never one of another region."""
    if name and database_url:
        raise PlacementError("give --server or --database-url, not both")
    if name:
        server = DatabaseServer.objects.filter(name=name, is_active=True).first()
        if server is None:
            names = ", ".join(DatabaseServer.objects.values_list("name", flat=True)) or "none"
            raise PlacementError(f"no database server named {name!r} (registered: {names})")
    elif database_url:
        address = split_credentials(database_url)[0]
        server = DatabaseServer.objects.filter(address=address).first()
        if server is None:
            server = server_register(
                name=_unique_name(_slug_for(database_url)), url=database_url, region=region
            )
    else:
        server = least_loaded(region)
    check_residency(region=region, server=server)
    return server


def check_residency(*, region: str, server: DatabaseServer) -> None:
    """Refuse a placement of a tenant of `region` on a server of another region."""
    if server.region != region:
        raise PlacementError(
            f"server {server.name!r} is in region {server.region!r}: data of a tenant in region "
            f"{region!r} is never placed there"
        )


def server_loads(servers) -> dict[int, int]:
    """{server pk: tenants placed on it}; tenants registered without a server count for main."""
    from django.db.models import Count

    from tenants.backends.pools import is_main
    from tenants.models import Tenant, TenantStatus

    counted = dict(
        Tenant.objects.exclude(status=TenantStatus.DELETING)
        .values_list("database_server")
        .annotate(n=Count("id"))
        .values_list("database_server", "n")
    )
    return {
        s.pk: counted.get(s.pk, 0) + (counted.get(None, 0) if is_main(s) else 0) for s in servers
    }


def least_loaded(region: str) -> DatabaseServer:
    from tenants.backends.database import default_server
    from tenants.backends.pools import MAIN_SERVER, is_main

    servers = list(DatabaseServer.objects.filter(region=region, is_active=True))
    if not any(s.name == MAIN_SERVER for s in servers):
        # The main server is registered on first use (in its own region).
        main = default_server()
        if main.is_active and main.region == region:
            servers.append(main)  # registered just now
    if not servers:
        raise PlacementError(f"no database server registered in region {region!r}")
    if len(servers) == 1:
        return servers[0]  # nothing to compare: no count over the registry
    loads = server_loads(servers)
    return min(servers, key=lambda s: (loads[s.pk], not is_main(s), s.name))


def _unique_name(base: str) -> str:
    name, n = base or "server", 1
    while DatabaseServer.objects.filter(name=name).exists():
        n += 1
        name = f"{base}-{n}"
    return name


def default_region() -> str:
    return settings.TENANT_DEFAULT_REGION
