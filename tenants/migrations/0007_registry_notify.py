"""Every registry change notifies every process (LISTEN tenant_registry; tenants/registry_listener.py).

A trigger, not application code: a change made by any path — a command, the
console, a plan update, raw SQL by an operator — reaches the resolvers' caches.
NOTIFY is transactional: it is delivered on commit, never for a rolled-back change.
"""

from django.db import migrations

SQL = """
CREATE OR REPLACE FUNCTION public.saas_registry_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_TABLE_NAME = 'tenants_tenant' AND TG_LEVEL = 'ROW' THEN
        IF TG_OP IN ('UPDATE', 'DELETE') THEN
            PERFORM pg_notify('tenant_registry', OLD.subdomain);
        END IF;
        IF TG_OP IN ('UPDATE', 'INSERT') THEN
            PERFORM pg_notify('tenant_registry', NEW.subdomain);
        END IF;
    ELSE
        PERFORM pg_notify('tenant_registry', '*');  -- plans, servers: every tenant may change
    END IF;
    RETURN NULL;
END $$;
DROP TRIGGER IF EXISTS registry_notify ON public.tenants_tenant;
CREATE TRIGGER registry_notify AFTER INSERT OR UPDATE OR DELETE ON public.tenants_tenant
    FOR EACH ROW EXECUTE FUNCTION public.saas_registry_notify();
DROP TRIGGER IF EXISTS registry_notify ON public.tenants_databaseserver;
CREATE TRIGGER registry_notify AFTER INSERT OR UPDATE OR DELETE ON public.tenants_databaseserver
    FOR EACH STATEMENT EXECUTE FUNCTION public.saas_registry_notify();
"""

REVERSE = """
DROP TRIGGER IF EXISTS registry_notify ON public.tenants_tenant;
DROP TRIGGER IF EXISTS registry_notify ON public.tenants_databaseserver;
DROP FUNCTION IF EXISTS public.saas_registry_notify();
"""


class Migration(migrations.Migration):
    dependencies = [("tenants", "0006_placement_fence")]

    operations = [migrations.RunSQL(SQL, REVERSE, hints={"tenant_placed": False})]
