-- The role user queries run as: it can read the published tables and nothing else.
-- Roles are cluster-wide, so several databases of one cluster (tests) may race to create it.
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'obsportal_query') THEN
        CREATE ROLE obsportal_query NOLOGIN NOSUPERUSER NOINHERIT NOCREATEDB NOCREATEROLE;
    END IF;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
    NULL;
END $$;

-- The owner switches to it with SET ROLE for every user query.
DO $$ BEGIN EXECUTE format('GRANT obsportal_query TO %I', current_user); END $$;

REVOKE ALL ON SCHEMA obsportal FROM PUBLIC;
GRANT USAGE ON SCHEMA obsportal, ivoa TO obsportal_query;
GRANT SELECT ON obsportal.exposures, ivoa.obscore TO obsportal_query;
