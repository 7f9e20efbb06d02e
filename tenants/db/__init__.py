"""The tenant-aware PostgreSQL backend (ENGINE = "tenants.db") and runtime alias registration."""

from __future__ import annotations

from django.db import DEFAULT_DB_ALIAS, connections


def register_alias(alias: str, config: dict, *, replace: bool = False) -> None:
    """Add a database alias at runtime (no restart, no settings edit)."""
    if alias in connections.settings and not replace:
        return
    # configure_settings() fills Django's defaults; it insists on a "default" key.
    filled = connections.configure_settings({DEFAULT_DB_ALIAS: dict(config)})[DEFAULT_DB_ALIAS]
    connections.settings[alias] = filled
