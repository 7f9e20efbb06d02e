"""The tenant-aware PostgreSQL backend (ENGINE = "tenants.db") and runtime alias registration."""

from __future__ import annotations

from django.db import connections


def register_alias(alias: str, config: dict) -> None:
    """Add a database alias at runtime (no restart, no settings edit)."""
    if alias in connections.settings:
        return
    connections.settings[alias] = connections.configure_settings({alias: dict(config)})[alias]
