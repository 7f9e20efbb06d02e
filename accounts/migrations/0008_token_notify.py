"""Token and creator changes notify every process (accounts.token_cache, LISTEN tenant_registry).

A trigger, not application code: revocation, expiry, scope changes and a
creator's role or active flag reach the token caches whichever path wrote them.
NOTIFY is delivered on commit only. Only the columns that decide what a token may
do fire it (not last_used_at, not a sign-in's last_login).
"""

from django.db import migrations

# The function lives in the public schema of each database; tenant schemas (whose
# migrations run side by side in migrate_tenants) only add their triggers, so no two
# placements ever replace the same function row at once.
SQL = """
DO $notify$
BEGIN
IF current_schema() = 'public' THEN
    EXECUTE $fn$
    CREATE OR REPLACE FUNCTION public.saas_token_notify() RETURNS trigger
    LANGUAGE plpgsql AS $body$
    BEGIN
        IF TG_OP = 'DELETE' THEN
            PERFORM pg_notify('tenant_registry', 'tok:' || OLD.tenant_id::text);
        ELSE
            PERFORM pg_notify('tenant_registry', 'tok:' || NEW.tenant_id::text);
        END IF;
        RETURN NULL;
    END $body$
    $fn$;
END IF;
END
$notify$;
DROP TRIGGER IF EXISTS token_notify ON accounts_apitoken;
CREATE TRIGGER token_notify
    AFTER UPDATE OF revoked_at, expires_at, scopes, secret_hash, created_by_id, issuer OR DELETE
    ON accounts_apitoken FOR EACH ROW EXECUTE FUNCTION public.saas_token_notify();
DROP TRIGGER IF EXISTS token_notify ON accounts_user;
CREATE TRIGGER token_notify AFTER UPDATE OF role, is_active OR DELETE
    ON accounts_user FOR EACH ROW EXECUTE FUNCTION public.saas_token_notify();
"""

REVERSE = """
DROP TRIGGER IF EXISTS token_notify ON accounts_apitoken;
DROP TRIGGER IF EXISTS token_notify ON accounts_user;
"""


class Migration(migrations.Migration):
    dependencies = [("accounts", "0007_same_tenant_keys")]

    operations = [migrations.RunSQL(SQL, REVERSE, hints={"tenant_placed": True})]
