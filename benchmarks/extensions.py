"""Extension points for figures whose code other branches are writing.

Each returns None while the code it needs is not there; the runner then
writes the JSON key as null with a "pending" note. Filling one in is the
only change needed to measure the figure.
"""

from __future__ import annotations

# The REST API (another branch). When /api/v1/projects/ lands, point these at
# it (and add its auth header in api.AUTH_HEADERS): one line each.
API_LIST_PATH = "/bench/projects/"
API_CREATE_PATH = "/bench/projects/"

MODES = ("shared", "schema", "database")


def mode_available(mode: str) -> bool:
    """True when tenants.backends has a backend registered for `mode`."""
    from tenants.backends import _BACKENDS

    return mode in _BACKENDS


def ensure_mode_tenants(mode: str, count: int) -> list[str] | None:
    """Subdomains of `count` bench tenants placed in `mode` (schema: 1,000; database: 20).

    Pending the lead's schema/database backends: they decide how a placement
    is created in bulk (e.g. one migrated template schema cloned N times).
    Return None until then.
    """
    if mode == "shared" or not mode_available(mode):
        return None
    return None


def migrate_tenants_seconds(schemas: int) -> dict | None:
    """{"noop_s": …, "one_s": …} for the lead's `migrate_tenants` across `schemas` schemas.

    Pending `migrate_tenants`: run it once with nothing to apply and once with
    one real migration (a nullable column, like benchmarks/djt's 0002), over
    the schema-mode tenants from ensure_mode_tenants("schema", schemas).
    """
    return None
