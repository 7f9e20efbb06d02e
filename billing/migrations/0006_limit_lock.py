"""One round trip for a limit check's locks and its fresh plan read (billing.limits)."""

from django.db import migrations

# VOLATILE plpgsql: each statement inside takes a fresh snapshot, so the plan is read
# after the shared plan lock is granted (a plan change holding the exclusive side
# has committed by then). The exclusive per-limit lock is taken only when the plan
# sets that limit: an unlimited plan's creations do not queue behind each other.
FORWARDS = """
CREATE OR REPLACE FUNCTION public.saas_limit_lock(
    p_tenant uuid, p_limit text, p_plan_key text, p_limit_key text
) RETURNS jsonb LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    found jsonb;
BEGIN
    PERFORM pg_catalog.pg_advisory_xact_lock_shared(pg_catalog.hashtextextended(p_plan_key, 0));
    SELECT pg_catalog.jsonb_build_object('plan', p.id, 'limit', pg_catalog.to_jsonb(p) -> p_limit)
      INTO found
      FROM public.billing_plan p JOIN public.tenants_tenant t ON t.plan_id = p.id
     WHERE t.id = p_tenant;
    IF found IS NOT NULL AND found ->> 'limit' IS NOT NULL THEN
        PERFORM pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtextextended(p_limit_key, 0));
    END IF;
    RETURN found;
END $$;
"""
BACKWARDS = "DROP FUNCTION IF EXISTS public.saas_limit_lock(uuid, text, text, text)"


class Migration(migrations.Migration):
    dependencies = [("billing", "0005_same_tenant_keys"), ("tenants", "0012_tenant_set_plan")]

    operations = [migrations.RunSQL(FORWARDS, BACKWARDS, hints={"tenant_placed": False})]
