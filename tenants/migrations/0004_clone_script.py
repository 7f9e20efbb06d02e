from pathlib import Path

from django.db import migrations

SQL = (Path(__file__).resolve().parent.parent / "sql" / "clone_script.sql").read_text()


class Migration(migrations.Migration):
    dependencies = [("tenants", "0003_tenant_moves")]

    operations = [
        migrations.RunSQL(
            SQL,
            "DROP FUNCTION IF EXISTS public.saas_clone_script(text, text, text);",
            hints={"tenant_placed": False},
        ),
    ]
