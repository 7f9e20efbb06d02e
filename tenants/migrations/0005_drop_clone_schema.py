"""saas_clone_script() replaced saas_clone_schema(): keep one recipe in the database.

tenants/sql/clone_schema.sql stays only because migration 0002 reads it.
"""

from pathlib import Path

from django.db import migrations

OLD = (Path(__file__).resolve().parent.parent / "sql" / "clone_schema.sql").read_text()


class Migration(migrations.Migration):
    dependencies = [("tenants", "0004_clone_script")]

    operations = [
        migrations.RunSQL(
            "DROP FUNCTION IF EXISTS public.saas_clone_schema(text, text, text, text)",
            OLD,
            hints={"tenant_placed": False},
        ),
    ]
