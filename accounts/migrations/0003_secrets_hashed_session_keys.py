"""Session rows now hold a hash of the cookie value: rows written before hold raw keys.

They could never be looked up again (the lookup hashes the cookie), but they are
live secrets at rest: drop them. Everybody signs in once more. TRUNCATE, because
a DELETE without a tenant context sees no row under FORCE ROW LEVEL SECURITY;
the tables are owned by the migrating role.
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("accounts", "0002_invitations_tokens")]

    operations = [
        migrations.RunSQL(
            "TRUNCATE accounts_tenantsession", migrations.RunSQL.noop, hints={"tenant_placed": True}
        ),
        migrations.RunSQL(
            "TRUNCATE accounts_platformsession",
            migrations.RunSQL.noop,
            hints={"tenant_placed": False},
        ),
    ]
