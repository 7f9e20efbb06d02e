"""System checks: every tenant-owned table in the live database has RLS, FORCE and the policy."""

from __future__ import annotations

from django.apps import apps
from django.core.checks import Error, Warning, register
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.utils import OperationalError, ProgrammingError

from tenants.rls.sql import POLICY_NAME, STATUS_QUERY


def tenant_models():
    from tenants.models import TenantOwned

    return [m for m in apps.get_models() if issubclass(m, TenantOwned)]


def rls_status(connection) -> list[tuple]:
    tables = [m._meta.db_table for m in tenant_models()]
    with connection.cursor() as cur:
        cur.execute(STATUS_QUERY, {"policy": POLICY_NAME, "tables": tables})
        return cur.fetchall()


@register("tenancy")
def check_tenant_tables(app_configs=None, **kwargs):
    """tenants.E001–E003 for a table without RLS / FORCE / policy; E004–E006 for the role."""
    connection = connections[DEFAULT_DB_ALIAS]
    try:
        rows = rls_status(connection)
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
    errors = []
    for schema, table, enabled, forced, owner, has_policy in rows:
        where = f"{schema}.{table}"
        if not enabled:
            errors.append(
                Error(
                    f"{where} does not ENABLE ROW LEVEL SECURITY",
                    id="tenants.E001",
                    hint="Declare it with tenants.rls.operations.EnableTenantRLS.",
                )
            )
        if not forced:
            errors.append(
                Error(
                    f"{where} does not FORCE ROW LEVEL SECURITY",
                    id="tenants.E002",
                    hint="Declare it with tenants.rls.operations.EnableTenantRLS.",
                )
            )
        if not has_policy:
            errors.append(
                Error(
                    f"{where} lacks the {POLICY_NAME} policy with USING and WITH CHECK",
                    id="tenants.E003",
                    hint="Declare it with tenants.rls.operations.EnableTenantRLS.",
                )
            )
        if role and owner == role[2]:
            errors.append(
                Error(
                    f"{where} is owned by the app role {owner}",
                    id="tenants.E006",
                    hint="Run migrations with `manage.py migrate` (runs as the owner role).",
                )
            )
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
