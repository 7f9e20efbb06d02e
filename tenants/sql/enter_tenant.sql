-- The placement fence and the one function that puts a tenant on a transaction.
-- Runs in every placement database (main and tenant databases), only for the
-- public schema: a tenant schema's migration run skips it.
DO $fence$
BEGIN
IF current_schema() <> 'public' THEN
    RETURN;
END IF;

-- The function every tenant_isolation policy compares tenant_id with (tenants/rls/sql.py).
EXECUTE $ctfn$__CURRENT_TENANT_FN__$ctfn$;

-- A fenced (tenant, placement) pair may no longer be used by the app: the
-- placement was moved away from, or is being deleted. Written only by
-- operator paths (tenants/fence.py), read by saas_enter_tenant() as the app.
CREATE TABLE IF NOT EXISTS public.tenants_fence (
    tenant_id uuid NOT NULL,
    placement text NOT NULL,
    reason text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, placement)
);
ALTER TABLE public.tenants_fence ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.tenants_fence FORCE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS tenant_isolation ON public.tenants_fence;
CREATE POLICY tenant_isolation ON public.tenants_fence
    USING (__POLICY__) WITH CHECK (__POLICY__);
REVOKE ALL ON public.tenants_fence FROM __APP__;
GRANT SELECT ON public.tenants_fence TO __APP__;
GRANT SELECT, INSERT, UPDATE, DELETE ON public.tenants_fence TO __OPERATOR__;

-- Sent as the first statement of every tenant transaction (tenants/db):
-- sets the context (transaction-local), takes the tenant's shared advisory
-- lock (a fence waits for transactions holding it), and refuses a fenced
-- placement with SQLSTATE 55T01 (the app re-resolves the tenant).
-- p_slots/p_wait_ms: the tenant's fair share of the server (tenants/fair_share.py).
-- p_app_name ('' for none) sets application_name until the transaction ends; the
-- app passes '' now (statements are attributed by a leading comment instead,
-- tenants/attribution.py).
-- The four-argument form of earlier releases stays for their processes until they
-- are gone; intermediate forms that never shipped are removed.
DROP FUNCTION IF EXISTS public.saas_enter_tenant(text, text, text, integer, integer, integer);
DROP FUNCTION IF EXISTS public.saas_enter_tenant(text, text, text, integer, text);
EXECUTE $fn$
CREATE OR REPLACE FUNCTION public.saas_enter_tenant(
    p_tenant text, p_placement text, p_search_path text, p_timeout_ms integer,
    p_slots integer, p_wait_ms integer, p_app_name text
) RETURNS void LANGUAGE plpgsql VOLATILE AS $body$
DECLARE
    -- A uuid variable, not p_tenant::uuid in the query: with the cast on a text
    -- parameter PostgreSQL re-planned the fence lookup on every call (~2x the cost).
    v_tenant uuid := p_tenant::uuid;
    v_deadline timestamptz;
    v_held boolean := p_slots <= 0;
    v_left interval;
    v_turn integer := 0;
    v_lock_timeout text;
BEGIN
    PERFORM pg_catalog.set_config('app.current_tenant', p_tenant, true);
    PERFORM pg_catalog.pg_advisory_xact_lock_shared(pg_catalog.hashtextextended(p_tenant, 0));
    -- The fence look-up runs the executor (~16 µs); it is skipped where no fence can be:
    -- a fence table whose file is empty holds no row, committed or not. Inserting a row
    -- extends the file before the insert commits, and only VACUUM's truncation or a
    -- rewrite (TRUNCATE, VACUUM FULL, CLUSTER) empties it again, none of them while a
    -- row is visible. A fence committed after this check found the file empty
    -- waits for this transaction anyway: it holds the tenant's shared lock, taken above,
    -- before the check. (Tenant databases' fence tables are empty until the tenant is
    -- moved away or deleted.) An unknown size (NULL) looks.
    IF pg_catalog.pg_relation_size('public.tenants_fence'::pg_catalog.regclass)
            IS DISTINCT FROM 0 THEN
        IF EXISTS (SELECT 1 FROM public.tenants_fence f
                   WHERE f.tenant_id = v_tenant AND f.placement = p_placement) THEN
            RAISE EXCEPTION 'placement % of this tenant is fenced', p_placement
                USING ERRCODE = '55T01',
                      HINT = 'the tenant registry changed: resolve the tenant again';
        END IF;
    END IF;
    IF p_app_name <> '' THEN
        PERFORM pg_catalog.set_config('application_name', p_app_name, true);
    END IF;
    IF p_timeout_ms > 0 THEN
        PERFORM pg_catalog.set_config('statement_timeout', p_timeout_ms::text, true);
    END IF;
    -- Fair share of the server: a tenant's transactions hold at most p_slots
    -- of its slot locks (keys 1..p_slots) at once. A transaction that finds
    -- none free waits on one of them, woken the moment its holder ends (in the
    -- lock's queue, first come first served; with several slots, on each in
    -- turn for at most 20 ms, so whichever frees first is found), up to
    -- p_wait_ms in all; then it is refused with 55T02. Re-entering the same
    -- tenant in one transaction finds the slot it already holds (advisory locks
    -- are re-entrant).
    IF NOT v_held THEN
        v_deadline := pg_catalog.clock_timestamp() + p_wait_ms * interval '1 millisecond';
        <<waiting>>
        LOOP
            FOR i IN 1..p_slots LOOP
                IF pg_catalog.pg_try_advisory_xact_lock(pg_catalog.hashtextextended(p_tenant, i)) THEN
                    v_held := true;
                    EXIT waiting;
                END IF;
            END LOOP;
            v_left := v_deadline - pg_catalog.clock_timestamp();
            EXIT WHEN v_left <= interval '0';
            IF p_slots > 1 THEN
                v_left := LEAST(v_left, interval '20 milliseconds');
            END IF;
            v_turn := v_turn + 1;
            v_lock_timeout := pg_catalog.current_setting('lock_timeout');
            PERFORM pg_catalog.set_config('lock_timeout',
                GREATEST(1, CEIL(EXTRACT(EPOCH FROM v_left) * 1000))::bigint::text, true);
            BEGIN
                PERFORM pg_catalog.pg_advisory_xact_lock(
                    pg_catalog.hashtextextended(p_tenant, 1 + v_turn % p_slots));
                v_held := true;
            EXCEPTION WHEN lock_not_available OR deadlock_detected THEN
                -- Not freed in time (or this transaction holds what the holder waits
                -- for: another tenant's slot): look at every slot again.
                NULL;
            END;
            PERFORM pg_catalog.set_config('lock_timeout', v_lock_timeout, true);
            EXIT waiting WHEN v_held;
        END LOOP;
        IF NOT v_held THEN
            RAISE EXCEPTION 'this tenant already runs % transactions on its server', p_slots
                USING ERRCODE = '55T02', HINT = 'fair share: retry shortly';
        END IF;
    END IF;
    -- The search_path last, and nothing after it. Every statement of this function
    -- has a cached plan, and a cached plan is re-planned whenever the search_path
    -- differs from the one it was planned under: a schema tenant's path differs
    -- from the previous transaction's almost every time, so each statement after
    -- it was re-planned on almost every call (~40 µs per enter in schema mode, and
    -- on a connection serving schema and shared tenants alike, both paid it).
    IF p_search_path <> '' THEN
        PERFORM pg_catalog.set_config('search_path', p_search_path, true);
    END IF;
END
$body$
$fn$;
END
$fence$;
