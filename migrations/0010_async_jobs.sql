-- Async TAP jobs (UWS 1.1), kept in the database so that every server on it shares them and
-- none is lost when a server stops: a job is claimed by one server at a time (FOR UPDATE SKIP
-- LOCKED), holds a lease while it runs, and is run again (or ends in ERROR) when its lease
-- expires. Servers wake each other with NOTIFY obsportal_jobs, payload the job's id.
CREATE TABLE obsportal.job (
    id                 text PRIMARY KEY,            -- 128 random bits, hex: unguessable
    owner              text,                        -- the authenticated user; NULL: anonymous
    run_id             text,
    phase              text NOT NULL CHECK (phase IN
                           ('PENDING', 'QUEUED', 'EXECUTING', 'COMPLETED', 'ERROR', 'ABORTED')),
    parameters         jsonb NOT NULL,              -- [[name, value], ...] as the client sent them
    execution_duration integer NOT NULL,            -- [s]
    destruction        timestamptz NOT NULL,
    -- In milliseconds, as documents write it: AFTER compares with what clients read.
    created_at         timestamptz NOT NULL DEFAULT date_trunc('milliseconds', clock_timestamp()),
    queued_at          timestamptz,
    started_at         timestamptz,
    ended_at           timestamptz,
    error              text,                        -- the message of an ERROR
    result_type        text,                        -- Content-Type of the result
    result_size        bigint,                      -- [bytes]
    worker             text,                        -- the server running it
    lease_until        timestamptz,                 -- renewed while it runs
    attempts           integer NOT NULL DEFAULT 0
);
-- The job list, newest first (LAST, AFTER), per owner.
CREATE INDEX job_owner_created ON obsportal.job (owner, created_at DESC, id);
-- What the workers and the sweeper look for.
CREATE INDEX job_queue ON obsportal.job (queued_at, id) WHERE phase = 'QUEUED';
CREATE INDEX job_running ON obsportal.job (lease_until) WHERE phase = 'EXECUTING';
CREATE INDEX job_destruction ON obsportal.job (destruction);

-- A result, in the pieces it was streamed in: written as the query runs, read back in order.
CREATE TABLE obsportal.job_result (
    job_id text NOT NULL REFERENCES obsportal.job (id) ON DELETE CASCADE,
    piece  integer NOT NULL,
    data   bytea NOT NULL,
    PRIMARY KEY (job_id, piece)
);
-- Pieces are already compressed or dense; TOAST compression would cost time for little.
ALTER TABLE obsportal.job_result ALTER COLUMN data SET STORAGE EXTERNAL;
