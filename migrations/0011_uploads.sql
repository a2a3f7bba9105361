-- Table uploads: the query role loads a client's tables as temporary tables of the query's
-- session (dropped with its transaction), so it may create temporary tables, and nothing else.
DO $$ BEGIN EXECUTE format('GRANT TEMPORARY ON DATABASE %I TO obsportal_query', current_database()); END $$;

-- The uploaded parts of an async job's request (UPLOAD=name,param:part), kept until the job
-- runs, and removed with it.
CREATE TABLE obsportal.job_upload (
    job_id text NOT NULL REFERENCES obsportal.job (id) ON DELETE CASCADE,
    part   text NOT NULL,
    data   bytea NOT NULL,
    PRIMARY KEY (job_id, part)
);
