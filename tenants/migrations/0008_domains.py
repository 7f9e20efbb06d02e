import uuid

import django.db.models.deletion
from django.db import migrations, models

from tenants.rls.sql import enable_rls, qn

TABLE = "tenants_domain"

# The tenant policy (own rows only, for every command) plus a read-only one for
# verified rows: permissive policies are OR-ed, so writes stay the tenant's own.
VERIFIED_READABLE = (
    f"CREATE POLICY verified_domains_readable ON {qn(TABLE)} FOR SELECT "
    "USING (verified_at IS NOT NULL)"
)

# Registry changes reach every process's cache (see 0007); a tenant's own change
# (suspension, move) also drops the entries of its verified domains.
NOTIFY = """
CREATE OR REPLACE FUNCTION public.saas_registry_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_TABLE_NAME = 'tenants_tenant' AND TG_LEVEL = 'ROW' THEN
        IF TG_OP IN ('UPDATE', 'DELETE') THEN
            PERFORM pg_notify('tenant_registry', OLD.subdomain);
            PERFORM pg_notify('tenant_registry', 'd:' || d.domain)
                FROM public.tenants_domain d WHERE d.tenant_id = OLD.id;
        END IF;
        IF TG_OP IN ('UPDATE', 'INSERT') THEN
            PERFORM pg_notify('tenant_registry', NEW.subdomain);
        END IF;
    ELSIF TG_TABLE_NAME = 'tenants_domain' AND TG_LEVEL = 'ROW' THEN
        IF TG_OP IN ('UPDATE', 'DELETE') THEN
            PERFORM pg_notify('tenant_registry', 'd:' || OLD.domain);
        END IF;
        IF TG_OP IN ('UPDATE', 'INSERT') THEN
            PERFORM pg_notify('tenant_registry', 'd:' || NEW.domain);
        END IF;
    ELSE
        PERFORM pg_notify('tenant_registry', '*');  -- plans, servers: every tenant may change
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER registry_notify AFTER INSERT OR UPDATE OR DELETE ON public.tenants_domain
    FOR EACH ROW EXECUTE FUNCTION public.saas_registry_notify();
"""


class Migration(migrations.Migration):
    dependencies = [("tenants", "0007_registry_notify")]

    operations = [
        migrations.CreateModel(
            name="Domain",
            fields=[
                (
                    "id",
                    models.UUIDField(
                        default=uuid.uuid4, editable=False, primary_key=True, serialize=False
                    ),
                ),
                ("domain", models.CharField(max_length=253, unique=True)),
                ("token", models.CharField(max_length=64)),
                ("verified_at", models.DateTimeField(blank=True, null=True)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                (
                    "tenant",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="domains",
                        to="tenants.tenant",
                    ),
                ),
            ],
            options={"ordering": ["domain"]},
        ),
        migrations.RunSQL(
            [*enable_rls(TABLE), VERIFIED_READABLE, NOTIFY],
            [
                f"DROP TRIGGER IF EXISTS registry_notify ON {qn(TABLE)}",
                f"DROP POLICY IF EXISTS verified_domains_readable ON {qn(TABLE)}",
            ],
            hints={"tenant_placed": False},
        ),
    ]
