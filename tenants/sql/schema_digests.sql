-- The applied migrations of every tenant schema, as one digest per schema, in
-- one round trip: what lets `migrate_tenants` skip up-to-date schemas without
-- loading any migration state.
CREATE OR REPLACE FUNCTION public.saas_schema_migration_digests(schema_like text)
RETURNS TABLE (schema_name text, applied text[]) LANGUAGE plpgsql STABLE AS $fn$
DECLARE
  s text;
BEGIN
  FOR s IN SELECT n.nspname FROM pg_namespace n WHERE n.nspname LIKE schema_like
           ORDER BY n.nspname LOOP
    IF to_regclass(format('%I.django_migrations', s)) IS NULL THEN
      schema_name := s; applied := '{}'; RETURN NEXT;
    ELSE
      RETURN QUERY EXECUTE format(
        'SELECT %L::text, coalesce(array_agg(app || ''.'' || name ORDER BY app, name), ''{}'') '
        'FROM %I.django_migrations', s, s);
    END IF;
  END LOOP;
END
$fn$;
