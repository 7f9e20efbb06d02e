"""Subscription changes notify every process (webhooks.subscription_cache, LISTEN tenant_registry).

A trigger, not application code: an endpoint added, removed, disabled (by an admin
or after its failures) or given other events reaches every process's subscription
cache whichever path wrote it. NOTIFY is delivered on commit only. Only what decides
whether a tenant receives an event type fires it (not the failure run an attempt
updates, not the secret, URL or description). The endpoint table lives in the main
database only, for every isolation mode: so does this trigger.
"""

from django.db import migrations

SQL = """
CREATE OR REPLACE FUNCTION public.saas_webhook_subscription_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM pg_notify('tenant_registry', 'whk:' || OLD.tenant_id::text);
    ELSE
        PERFORM pg_notify('tenant_registry', 'whk:' || NEW.tenant_id::text);
    END IF;
    RETURN NULL;
END $$;
DROP TRIGGER IF EXISTS subscription_notify ON public.webhooks_webhookendpoint;
CREATE TRIGGER subscription_notify
    AFTER INSERT OR UPDATE OF events, is_enabled OR DELETE ON public.webhooks_webhookendpoint
    FOR EACH ROW EXECUTE FUNCTION public.saas_webhook_subscription_notify();
"""

REVERSE = """
DROP TRIGGER IF EXISTS subscription_notify ON public.webhooks_webhookendpoint;
DROP FUNCTION IF EXISTS public.saas_webhook_subscription_notify();
"""


class Migration(migrations.Migration):
    dependencies = [("webhooks", "0001_initial")]

    operations = [migrations.RunSQL(SQL, REVERSE, hints={"tenant_placed": False})]
