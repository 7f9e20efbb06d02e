"""System checks: every table with a tenant_id column, in every placement, has RLS, FORCE and the policy."""

from __future__ import annotations

from django.core.checks import Error, Warning, register
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.utils import OperationalError, ProgrammingError

from tenants import guards

_HINTS = {
    "tenants.E006": "Run migrations with `manage.py migrate` (runs as the owner role).",
    "tenants.E007": "Only the tenant_isolation policy may grant access to tenant rows.",
}


@register("tenancy")
def check_tenant_tables(app_configs=None, databases=None, **kwargs):
    """tenants.E001–E003/E006/E007 per table and placement; E004–E005 for the app role.

    The main database and every other server's pool (pooled tables, schema
    template, every tenant schema) are always inspected; tenant databases too
    when the check is given databases (`check --database default`, `migrate`):
    one connection each.
    """
    connection = connections[DEFAULT_DB_ALIAS]
    try:
        if databases:
            scan = guards.scan(databases=True)
            findings, unreachable = scan.findings, scan.unreachable
        else:
            # Pooled tables hold every tenant of their server: every pool, like the main one.
            findings, unreachable = guards.scan_pools()
            findings = guards.scan_main(connection) + findings
        with connection.cursor() as cur:
            cur.execute(
                "SELECT rolsuper, rolbypassrls, current_user FROM pg_roles WHERE rolname = current_user"
            )
            role = cur.fetchone()
    except OperationalError:
        # No database to inspect (not created yet, server down): the command that needs it
        # says so in one line; a warning before it on every command is noise.
        return []
    except ProgrammingError as exc:
        return [
            Warning(
                f"Could not inspect the database for row-level security: {exc}".strip(),
                id="tenants.W001",
            )
        ]
    errors = [Error(f.text, id=f.id, hint=_HINTS.get(f.id, guards._HINT)) for f in findings]
    errors += [
        Warning(f"could not inspect {owner}: {reason}", id="tenants.W002")
        for owner, reason in unreachable.items()
    ]
    if role:
        superuser, bypass, name = role
        if superuser:
            errors.append(
                Error(
                    f"the app connects as superuser {name}: RLS does not apply",
                    id="tenants.E004",
                )
            )
        if bypass:
            errors.append(Error(f"the app role {name} has BYPASSRLS", id="tenants.E005"))
    return errors
