"""saas_enter_tenant() sets the search_path last, and waits for a slot in the lock's queue.

Every statement of the function has a cached plan, re-planned whenever the search_path
differs from the one it was planned under. 0016 moved the fence lookup in front of the
search_path; the timeout's set_config still ran after it, and was re-planned on almost
every schema tenant's call (~40 µs per enter call; on a connection serving schema and
shared tenants alike, both paid it).

A tenant at its fair share used to poll for a free slot every 5 ms (pg_sleep); it now
waits on a slot lock with a lock timeout, woken the moment the holder ends, first come
first served. Re-runs tenants/sql/enter_tenant.sql in every placement database (same
signature: CREATE OR REPLACE).
"""

from django.db import migrations

from tenants.migrations._enter_sql import SQL


class Migration(migrations.Migration):
    dependencies = [("tenants", "0016_enter_tenant_fence_first")]

    operations = [migrations.RunSQL(SQL, migrations.RunSQL.noop, hints={"tenant_placed": True})]
