-- Where harvesting from an archive stands (src/harvest): the last frame of the last batch
-- imported, by the archive's modification date and DP.ID, so that a harvest goes on where the
-- previous one stopped; and the frames whose header could not be fetched, with why, retried by
-- the next harvest first.
CREATE TABLE obsportal.harvest_cursor (
    source        text PRIMARY KEY,
    last_mod_date text NOT NULL,
    dp_id         text NOT NULL,
    updated_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE obsportal.harvest_failure (
    source       text NOT NULL,
    dp_id        text NOT NULL,
    reason       text NOT NULL,
    attempts     integer NOT NULL DEFAULT 1,
    last_attempt timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (source, dp_id)
);
