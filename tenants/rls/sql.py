"""The one source of the row-level-security SQL for tenant-owned tables."""

from __future__ import annotations

POLICY_NAME = "tenant_isolation"
TENANT_COLUMN = "tenant_id"

_UUID_RE = "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"

# NULL unless app.current_tenant holds a well-formed uuid. current_setting(…, true)
# is NULL when never set and '' once the session has touched it; garbage would
# make a bare ::uuid cast raise. All three become NULL, and `x = NULL` is never
# true: zero rows, writes rejected.
CURRENT_TENANT = (
    "CASE WHEN current_setting('app.current_tenant', true) ~ "
    f"'{_UUID_RE}' "
    "THEN current_setting('app.current_tenant', true)::uuid END"
)

# Wrapped in a scalar sub-select so the planner evaluates it once per
# statement (an InitPlan) and compares tenant_id with a constant: index scans
# on (tenant_id, …) stay available.
POLICY_EXPR = f"{TENANT_COLUMN} = (SELECT {CURRENT_TENANT})"


def qn(name: str) -> str:
    """Quote an identifier (table names come from model metadata, not users)."""
    return '"' + name.replace('"', '""') + '"'


def enable_rls(table: str) -> list[str]:
    t = qn(table)
    return [
        f"ALTER TABLE {t} ENABLE ROW LEVEL SECURITY",
        f"ALTER TABLE {t} FORCE ROW LEVEL SECURITY",
        f"DROP POLICY IF EXISTS {POLICY_NAME} ON {t}",
        f"CREATE POLICY {POLICY_NAME} ON {t} USING ({POLICY_EXPR}) WITH CHECK ({POLICY_EXPR})",
    ]


def disable_rls(table: str) -> list[str]:
    t = qn(table)
    return [
        f"DROP POLICY IF EXISTS {POLICY_NAME} ON {t}",
        f"ALTER TABLE {t} NO FORCE ROW LEVEL SECURITY",
        f"ALTER TABLE {t} DISABLE ROW LEVEL SECURITY",
    ]


def as_owner_past_rls(table: str, statements: list[str]) -> list[str]:
    """`statements` run by a migration on `table` across every tenant's rows (a scrub).

    The table's owner runs migrations and FORCE ROW LEVEL SECURITY binds it too: the
    force is lifted for these statements only, inside the migration's transaction (the
    ALTER's lock keeps every other session out of the table until it is back).
    """
    t = qn(table)
    return [
        f"ALTER TABLE {t} NO FORCE ROW LEVEL SECURITY",
        *statements,
        f"ALTER TABLE {t} FORCE ROW LEVEL SECURITY",
    ]


def same_tenant_fk(
    table: str, column: str, target_table: str, on_delete: str = "CASCADE"
) -> tuple[list[str], list[str]]:
    """A composite FK (col, tenant_id) → target(id, tenant_id).

    Foreign-key checks run with the table owner's rights and ignore RLS, so a
    plain FK would let a row point at another tenant's row whose id it knows.
    This one makes cross-tenant references impossible in the database, and is
    the only key on the column (the field says db_constraint=False): another
    tenant's id and an id that exists nowhere fail the same constraint with
    the same error, so the error tells nothing about other tenants.

    `on_delete` is CASCADE, or SET NULL for a nullable reference: only the
    column is cleared (PostgreSQL 15's column list), never tenant_id.

    The target's unique key is (id, tenant_id), not (tenant_id, id): it is
    unique through id alone, and leaves the tenant-led indexes to the ones
    queries need (see tenants.models.tenant_id_field).
    """
    uniq = f"{target_table}_id_tenant_id_key"[:63]
    fk = f"{table}_{column}_same_tenant"[:63]
    forwards = [
        f"DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = '{uniq}' "
        f"AND conrelid = '{qn(target_table)}'::regclass) THEN "
        f"ALTER TABLE {qn(target_table)} ADD CONSTRAINT {qn(uniq)} UNIQUE (id, {TENANT_COLUMN}); "
        "END IF; END $$",
        # Re-runnable: migrate_tenants may apply a migration again in a placement.
        f"ALTER TABLE {qn(table)} DROP CONSTRAINT IF EXISTS {qn(fk)}",
        f"ALTER TABLE {qn(table)} ADD CONSTRAINT {qn(fk)} "
        f"FOREIGN KEY ({qn(column)}, {TENANT_COLUMN}) "
        f"REFERENCES {qn(target_table)} (id, {TENANT_COLUMN}) ON DELETE {on_delete} "
        "DEFERRABLE INITIALLY DEFERRED",
    ]
    backwards = [f"ALTER TABLE {qn(table)} DROP CONSTRAINT IF EXISTS {qn(fk)}"]
    return forwards, backwards


# A policy in the canonical form: for every command, for PUBLIC, USING and WITH
# CHECK both comparing tenant_id with app.current_tenant.
_CANONICAL = """p.polcmd = '*' AND p.polroles = '{0}'::oid[]
       AND p.polqual IS NOT NULL AND p.polwithcheck IS NOT NULL
       AND pg_get_expr(p.polqual, p.polrelid) = pg_get_expr(p.polwithcheck, p.polrelid)
       AND pg_get_expr(p.polqual, p.polrelid) LIKE '(tenant_id = ( SELECT%%'
       AND pg_get_expr(p.polqual, p.polrelid)
           LIKE '%%current_setting(''app.current_tenant''::text, true)%%'"""

# Every table (in the schemas matching %(schemas)s, LIKE patterns) that has a
# tenant_id column, found in the catalog rather than from the models: a table
# created by hand, by a raw migration or by a model that is not TenantOwned is
# seen too. For each: RLS enabled and forced, our policy in the canonical form,
# and any other permissive policy not in that form (permissive policies are
# OR-ed: one would widen what is visible).
CATALOG_QUERY = f"""
SELECT n.nspname, c.relname, c.relrowsecurity, c.relforcerowsecurity,
       pg_get_userbyid(c.relowner) AS owner,
       EXISTS (SELECT 1 FROM pg_policy p WHERE p.polrelid = c.oid
               AND p.polname = %(policy)s AND p.polpermissive AND {_CANONICAL}) AS has_policy,
       ARRAY(SELECT p.polname::text FROM pg_policy p WHERE p.polrelid = c.oid
             AND p.polpermissive AND p.polname <> %(policy)s AND NOT ({_CANONICAL})
             ORDER BY 1) AS other_policies,
       has_table_privilege(%(app)s, c.oid, 'INSERT, UPDATE, DELETE, TRUNCATE') AS app_writes
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'tenant_id'
     AND a.attnum > 0 AND NOT a.attisdropped
WHERE c.relkind IN ('r', 'p') AND n.nspname LIKE ANY(%(schemas)s)
ORDER BY 1, 2
"""
