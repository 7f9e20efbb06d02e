-- The statements that clone the template schema, as text, for a target named
-- "__tenant_schema__": computed once per process (catalog scans grow with the
-- number of schemas), then sent per provisioning as one message with the
-- placeholder replaced. Same recipe as saas_clone_schema().
CREATE OR REPLACE FUNCTION public.saas_clone_script(src text, app_role text, op_role text)
RETURNS text[] LANGUAGE plpgsql AS $fn$
DECLARE
  r record;
  dst constant text := '__tenant_schema__';
  out text[] := '{}';
  saved text := current_setting('search_path');
BEGIN
  out := out || format('CREATE SCHEMA %I', dst);
  FOR r IN SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
           WHERE n.nspname = src AND c.relkind = 'r' ORDER BY c.relname LOOP
    out := out || format(
      'CREATE TABLE %I.%I (LIKE %I.%I INCLUDING DEFAULTS INCLUDING CONSTRAINTS '
      'INCLUDING IDENTITY INCLUDING GENERATED INCLUDING STORAGE INCLUDING COMMENTS)',
      dst, r.relname, src, r.relname);
  END LOOP;
  out := out || format('SET LOCAL search_path TO %I', dst);
  PERFORM set_config('search_path', quote_ident(src), true);
  FOR r IN SELECT cl.relname, con.conname, pg_get_constraintdef(con.oid) AS def
           FROM pg_constraint con JOIN pg_class cl ON cl.oid = con.conrelid
           JOIN pg_namespace n ON n.oid = cl.relnamespace
           WHERE n.nspname = src AND con.contype IN ('p', 'u', 'x')
           ORDER BY con.contype, con.conname LOOP
    out := out || format('ALTER TABLE %I ADD CONSTRAINT %I %s', r.relname, r.conname, r.def);
  END LOOP;
  FOR r IN SELECT replace(pg_get_indexdef(i.indexrelid), ' ON ' || quote_ident(src) || '.',
                          ' ON ' || quote_ident(dst) || '.') AS def
           FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid
           JOIN pg_namespace n ON n.oid = ic.relnamespace
           WHERE n.nspname = src
             AND NOT EXISTS (SELECT 1 FROM pg_constraint con WHERE con.conindid = i.indexrelid)
           ORDER BY ic.relname LOOP
    out := out || r.def;
  END LOOP;
  FOR r IN SELECT cl.relname, con.conname, pg_get_constraintdef(con.oid) AS def
           FROM pg_constraint con JOIN pg_class cl ON cl.oid = con.conrelid
           JOIN pg_namespace n ON n.oid = cl.relnamespace
           WHERE n.nspname = src AND con.contype = 'f' ORDER BY con.conname LOOP
    out := out || format('ALTER TABLE %I ADD CONSTRAINT %I %s', r.relname, r.conname, r.def);
  END LOOP;
  FOR r IN SELECT c.relname, c.relforcerowsecurity FROM pg_class c
           JOIN pg_namespace n ON n.oid = c.relnamespace
           WHERE n.nspname = src AND c.relkind = 'r' AND c.relrowsecurity LOOP
    out := out || format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', r.relname);
    IF r.relforcerowsecurity THEN
      out := out || format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', r.relname);
    END IF;
  END LOOP;
  FOR r IN SELECT p.tablename, p.policyname, p.permissive, p.cmd, p.qual, p.with_check
           FROM pg_policies p WHERE p.schemaname = src LOOP
    out := out || (format('CREATE POLICY %I ON %I AS %s FOR %s', r.policyname, r.tablename,
                          r.permissive, r.cmd)
                   || coalesce(' USING (' || r.qual || ')', '')
                   || coalesce(' WITH CHECK (' || r.with_check || ')', ''));
  END LOOP;
  PERFORM set_config('search_path', saved, true);
  IF to_regclass(format('%I.django_migrations', src)) IS NOT NULL THEN
    out := out || format('INSERT INTO %I.django_migrations (app, name, applied) '
                         'SELECT app, name, applied FROM %I.django_migrations ORDER BY id', dst, src);
  END IF;
  out := out || format('GRANT USAGE ON SCHEMA %I TO %I, %I', dst, app_role, op_role);
  out := out || format('GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA %I TO %I, %I',
                       dst, app_role, op_role);
  out := out || format('GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA %I TO %I, %I',
                       dst, app_role, op_role);
  RETURN out;
END
$fn$;
