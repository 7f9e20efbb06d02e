-- Historical: created by migration 0002, dropped by 0005 (superseded by clone_script.sql).
-- Clone a tenant schema from the migrated template in one round trip.
-- Tables are copied with LIKE (columns, defaults, identity, CHECKs), then
-- primary/unique constraints, indexes, foreign keys, row-level security and
-- policies are recreated under their original names, so later migrations
-- that address them by name work on every clone.
CREATE OR REPLACE FUNCTION public.saas_clone_schema(src text, dst text, app_role text, op_role text)
RETURNS void LANGUAGE plpgsql AS $fn$
DECLARE
  r record;
  later text[] := '{}';
  stmt text;
BEGIN
  EXECUTE format('CREATE SCHEMA %I', dst);
  FOR r IN SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
           WHERE n.nspname = src AND c.relkind = 'r' ORDER BY c.relname LOOP
    EXECUTE format(
      'CREATE TABLE %I.%I (LIKE %I.%I INCLUDING DEFAULTS INCLUDING CONSTRAINTS '
      'INCLUDING IDENTITY INCLUDING GENERATED INCLUDING STORAGE INCLUDING COMMENTS)',
      dst, r.relname, src, r.relname);
  END LOOP;

  -- Definitions printed with search_path = src carry no schema qualification.
  PERFORM set_config('search_path', quote_ident(src), true);
  -- primary keys, unique and exclusion constraints (they create their indexes)
  FOR r IN SELECT cl.relname, con.conname, pg_get_constraintdef(con.oid) AS def
           FROM pg_constraint con JOIN pg_class cl ON cl.oid = con.conrelid
           JOIN pg_namespace n ON n.oid = cl.relnamespace
           WHERE n.nspname = src AND con.contype IN ('p', 'u', 'x')
           ORDER BY con.contype, con.conname LOOP
    later := later || format('ALTER TABLE %I ADD CONSTRAINT %I %s', r.relname, r.conname, r.def);
  END LOOP;
  -- plain indexes (pg_get_indexdef always qualifies the table: point it at dst)
  FOR r IN SELECT replace(pg_get_indexdef(i.indexrelid), ' ON ' || quote_ident(src) || '.',
                          ' ON ' || quote_ident(dst) || '.') AS def
           FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid
           JOIN pg_namespace n ON n.oid = ic.relnamespace
           WHERE n.nspname = src
             AND NOT EXISTS (SELECT 1 FROM pg_constraint con WHERE con.conindid = i.indexrelid)
           ORDER BY ic.relname LOOP
    later := later || r.def;
  END LOOP;
  -- foreign keys
  FOR r IN SELECT cl.relname, con.conname, pg_get_constraintdef(con.oid) AS def
           FROM pg_constraint con JOIN pg_class cl ON cl.oid = con.conrelid
           JOIN pg_namespace n ON n.oid = cl.relnamespace
           WHERE n.nspname = src AND con.contype = 'f' ORDER BY con.conname LOOP
    later := later || format('ALTER TABLE %I ADD CONSTRAINT %I %s', r.relname, r.conname, r.def);
  END LOOP;
  -- row-level security and policies
  FOR r IN SELECT c.relname, c.relforcerowsecurity FROM pg_class c
           JOIN pg_namespace n ON n.oid = c.relnamespace
           WHERE n.nspname = src AND c.relkind = 'r' AND c.relrowsecurity LOOP
    later := later || format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', r.relname);
    IF r.relforcerowsecurity THEN
      later := later || format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', r.relname);
    END IF;
  END LOOP;
  FOR r IN SELECT p.tablename, p.policyname, p.permissive, p.cmd, p.qual, p.with_check
           FROM pg_policies p WHERE p.schemaname = src LOOP
    later := later || (format('CREATE POLICY %I ON %I AS %s FOR %s', r.policyname, r.tablename,
                              r.permissive, r.cmd)
                       || coalesce(' USING (' || r.qual || ')', '')
                       || coalesce(' WITH CHECK (' || r.with_check || ')', ''));
  END LOOP;

  PERFORM set_config('search_path', quote_ident(dst), true);
  FOREACH stmt IN ARRAY later LOOP
    EXECUTE stmt;
  END LOOP;
  IF to_regclass(format('%I.django_migrations', src)) IS NOT NULL THEN
    EXECUTE format('INSERT INTO %I.django_migrations (app, name, applied) '
                   'SELECT app, name, applied FROM %I.django_migrations ORDER BY id', dst, src);
  END IF;
  EXECUTE format('GRANT USAGE ON SCHEMA %I TO %I, %I', dst, app_role, op_role);
  EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA %I TO %I, %I',
                 dst, app_role, op_role);
  EXECUTE format('GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA %I TO %I, %I',
                 dst, app_role, op_role);
END
$fn$;
