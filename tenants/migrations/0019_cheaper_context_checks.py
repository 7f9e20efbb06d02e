"""Cheaper checks in the two functions every tenant statement runs; same results.

- public.saas_current_tenant() checks the setting's form with LIKE and translate()
  instead of a regex (tenants/rls/sql.py): the planner calls it ~6 times per statement.
- saas_enter_tenant() looks up the fence only when the fence table's file is not empty
  (tenants/sql/enter_tenant.sql says why that is exact).

Re-runs tenants/sql/enter_tenant.sql in every placement database (CREATE OR REPLACE,
same signatures: the policies keep naming the same function).
"""

from django.db import migrations

from tenants.migrations._enter_sql import SQL


class Migration(migrations.Migration):
    dependencies = [("tenants", "0018_policy_current_tenant_function")]

    operations = [migrations.RunSQL(SQL, migrations.RunSQL.noop, hints={"tenant_placed": True})]
