"""A plan's limits and timeouts travel with every cached tenant: a change notifies the resolvers."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("billing", "0002_billing"), ("tenants", "0007_registry_notify")]

    operations = [
        migrations.RunSQL(
            "DROP TRIGGER IF EXISTS registry_notify ON public.billing_plan; "
            "CREATE TRIGGER registry_notify AFTER INSERT OR UPDATE OR DELETE ON public.billing_plan "
            "FOR EACH STATEMENT EXECUTE FUNCTION public.saas_registry_notify()",
            "DROP TRIGGER IF EXISTS registry_notify ON public.billing_plan",
            hints={"tenant_placed": False},
        )
    ]
