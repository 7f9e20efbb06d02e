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

# The policy reads the tenant through this function (one per placement database, in
# its public schema, owned by the owner role: the app role can neither replace it nor
# shadow it, a policy names the function by its oid). Why a function and not the
# expression: the expression had to sit in a scalar sub-select to be evaluated once
# per statement (an InitPlan), and every statement then planned and ran a sub-plan per
# policy (the list's page and its count: two). A STABLE function call is a plain
# expression: compared with the explicit `tenant_id = …` every query carries, it
# becomes a one-time filter evaluated once; without one, an index condition evaluated
# once at scan start. Measured with pgbench on the list's statement, app role:
# 198 → 167 µs (no RLS: 128). Everything in the body is schema-qualified: it runs
# under every tenant's search_path.
#
# The body checks the setting's form without the regex engine, with the same result as
# _UUID_RE: LIKE fixes the length (36) and the hyphens (characters 9, 14, 19, 24), and
# what translate() leaves once every lowercase hex digit is removed must be those four
# hyphens, so the other 32 characters are hex digits. The planner calls the function ~6
# times while planning a statement (estimating its conditions): the regex cost ~1.2 µs a
# call, ~8 µs of backend CPU per statement (tests/tenants/test_current_tenant_function.py
# compares the two on every kind of input). One RETURN, one expression: plpgsql keeps a plan
# per expression and re-plans it when the search_path differs from the one it was planned
# under, as it does on every schema tenant's transaction (~2 µs an expression; reading the
# setting three times costs less than a variable and an IF). And the function runs under a
# fixed search_path of its own (the SET clause): its one plan then never sees a new path.
# Backend CPU per list-shaped message, path alternating between two schemas / one path:
# 105.6-119.0 / 81.2-89.0 µs without the clause, 85.6-93.3 / 86.6-101.0 with it (the GUC
# saved and restored on each call: ~+4 µs a statement where the path never changes, ~-20
# where it changes every transaction).
CURRENT_TENANT_FUNCTION = "public.saas_current_tenant()"
_UUID_SHAPE = "________-____-____-____-____________"
_HEX = "0123456789abcdef"
CURRENT_TENANT_FUNCTION_SQL = f"""
CREATE OR REPLACE FUNCTION {CURRENT_TENANT_FUNCTION} RETURNS uuid
LANGUAGE plpgsql STABLE PARALLEL SAFE SET search_path = pg_catalog AS $current_tenant$
BEGIN
    RETURN CASE
        WHEN pg_catalog.current_setting('app.current_tenant', true)
                 OPERATOR(pg_catalog.~~) '{_UUID_SHAPE}'
             AND pg_catalog.translate(pg_catalog.current_setting('app.current_tenant', true),
                                      '{_HEX}', '') OPERATOR(pg_catalog.=) '----'
        THEN pg_catalog.current_setting('app.current_tenant', true)::pg_catalog.uuid
    END;
END
$current_tenant$
"""

# Created where missing, by the first table declared tenant-owned in a database (a new
# database runs its migrations in dependency order, not in the tenants app's order).
# Only where missing: schema placements migrating in parallel must not replace it.
ENSURE_CURRENT_TENANT_FUNCTION = (
    "DO $ensure$ BEGIN "
    f"IF pg_catalog.to_regprocedure('{CURRENT_TENANT_FUNCTION}') IS NULL THEN "
    f"EXECUTE $fn${CURRENT_TENANT_FUNCTION_SQL}$fn$; "
    "END IF; END $ensure$"
)

POLICY_EXPR = f"{TENANT_COLUMN} = {CURRENT_TENANT_FUNCTION}"
# The body as pg_proc.prosrc holds it (the guards compare it).
CURRENT_TENANT_SOURCE = CURRENT_TENANT_FUNCTION_SQL.split("$current_tenant$")[1]


def qn(name: str) -> str:
    """Quote an identifier (table names come from model metadata, not users)."""
    return '"' + name.replace('"', '""') + '"'


def enable_rls(table: str) -> list[str]:
    t = qn(table)
    return [
        ENSURE_CURRENT_TENANT_FUNCTION,
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
# CHECK the same, comparing tenant_id with the current tenant: through the owner's
# saas_current_tenant() in the database's public schema, its body the one above (the
# policy depends on the function by oid: pg_depend says which one), or — placements
# not yet migrated to it — with app.current_tenant in a scalar sub-select.
_CANONICAL = """p.polcmd = '*' AND p.polroles = '{0}'::oid[]
       AND p.polqual IS NOT NULL AND p.polwithcheck IS NOT NULL
       AND pg_get_expr(p.polqual, p.polrelid) = pg_get_expr(p.polwithcheck, p.polrelid)
       AND ((pg_get_expr(p.polqual, p.polrelid) LIKE '(tenant_id = ( SELECT%%'
             AND pg_get_expr(p.polqual, p.polrelid)
                 LIKE '%%current_setting(''app.current_tenant''::text, true)%%')
            OR (pg_get_expr(p.polqual, p.polrelid)
                    ~ '^\\(tenant_id = (public\\.)?saas_current_tenant\\(\\)\\)$'
                AND EXISTS (SELECT 1 FROM pg_depend d JOIN pg_proc f ON f.oid = d.refobjid
                            WHERE d.classid = 'pg_policy'::regclass AND d.objid = p.oid
                              AND d.refclassid = 'pg_proc'::regclass
                              AND f.pronamespace = 'public'::regnamespace
                              AND f.proname = 'saas_current_tenant'
                              AND pg_get_userbyid(f.proowner) <> %(app)s
                              AND f.prosrc = %(current_tenant_src)s)))"""

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
