-- The normalised store: every header seen, and what was derived from the accepted ones.
-- The migration runner has already created schema obsportal (it keeps its own ledger there).

CREATE EXTENSION IF NOT EXISTS pg_sphere;

-- One row per `obsportal ingest` run that committed.
CREATE TABLE obsportal.import (
    id            bigserial PRIMARY KEY,
    started_at    timestamptz NOT NULL DEFAULT now(),
    finished_at   timestamptz,
    sources       text[] NOT NULL,
    headers_read  integer NOT NULL DEFAULT 0,
    headers_new   integer NOT NULL DEFAULT 0,
    headers_changed integer NOT NULL DEFAULT 0,
    accepted      integer NOT NULL DEFAULT 0,
    dropped       jsonb NOT NULL DEFAULT '{}'::jsonb  -- drop reason -> header count
);

-- Every ESO header ever ingested, kept whole so exposures can be re-derived without the files.
CREATE TABLE obsportal.header (
    dp_id       text PRIMARY KEY,            -- ARCFILE without .fits, e.g. GRAVI.2020-01-09T03:34:07.546
    source      text NOT NULL,               -- file (and archive member) it was last read from
    keywords    jsonb NOT NULL,
    accepted    boolean NOT NULL,
    drop_reason text,
    import_id   bigint NOT NULL REFERENCES obsportal.import (id),
    CHECK (accepted = (drop_reason IS NULL))
);

CREATE TABLE obsportal.instrument_mode (
    id              serial PRIMARY KEY,
    instrument_name text NOT NULL,
    mode            text NOT NULL,
    em_min          double precision,   -- [m]
    em_max          double precision,   -- [m]
    em_res_power    double precision,
    UNIQUE (instrument_name, mode)
);

CREATE TABLE obsportal.program (
    id     text PRIMARY KEY,                 -- ESO program id, e.g. 0104.C-0425(A) or 105.20UA.001
    title  text,
    pi_coi text
);

-- Targets are positions: exposures of one star under different names share one row.
CREATE TABLE obsportal.target (
    id   serial PRIMARY KEY,
    name text NOT NULL,                      -- name in the first exposure that created it
    ra   double precision NOT NULL,          -- [deg] ICRS
    dec  double precision NOT NULL           -- [deg] ICRS
);
CREATE INDEX target_position ON obsportal.target USING gist (spoint(radians(ra), radians(dec)));

-- A block of exposures: same OB, target, mode, stations, contiguous in time.
-- Identified by its first exposure so ids survive re-imports that do not change the block.
CREATE TABLE obsportal.observation (
    id                 serial PRIMARY KEY,
    first_exposure_id  text NOT NULL UNIQUE,
    exposure_count     integer NOT NULL,
    mjd_start          double precision NOT NULL,
    mjd_end            double precision
);

-- One accepted header = one exposure. Columns hold what the header says, already derived.
CREATE TABLE obsportal.exposure (
    id                  text PRIMARY KEY,    -- DP.ID + '_1'
    header_id           text NOT NULL UNIQUE REFERENCES obsportal.header (dp_id),
    interferometer      text NOT NULL,
    instrument_name     text NOT NULL,
    instrument_mode     text,
    instrument_submode  text,
    program_id          text REFERENCES obsportal.program (id),
    ob_id               bigint,
    obs_type            text NOT NULL CHECK (obs_type IN ('science', 'calibrator')),
    target_name         text NOT NULL,
    ra                  double precision NOT NULL,   -- pointing from the header [deg]
    dec                 double precision NOT NULL,
    mjd_start           double precision NOT NULL,
    mjd_end             double precision,
    exptime             double precision,            -- [s]
    stations            text,                        -- space separated, in station order
    projected_baselines jsonb,                       -- {"U1-U2": {"length": {"start":..,"end":..}, "angle": {..}} | null}
    projected_baselines_text text,                   -- the same, in the ObsPortal string form ASPRO2 parses
    tau0                double precision,            -- [s]
    temperature         double precision,            -- [Celsius]
    seeing              double precision,            -- [arcsec]
    validation_level    smallint NOT NULL,
    validation_log      jsonb NOT NULL,              -- array of messages
    date_updated        timestamptz NOT NULL,
    date_release        timestamptz,
    target_id           integer NOT NULL REFERENCES obsportal.target (id)
);
CREATE INDEX exposure_target ON obsportal.exposure (target_id);

-- Which observation each exposure belongs to. A narrow table of its own, because regrouping
-- rewrites it wholesale and rewriting the wide exposure rows would cost far more.
CREATE TABLE obsportal.observation_member (
    exposure_id    text PRIMARY KEY REFERENCES obsportal.exposure (id) ON DELETE CASCADE,
    observation_id integer NOT NULL REFERENCES obsportal.observation (id) ON DELETE CASCADE
);
