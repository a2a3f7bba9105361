-- Faster imports, same results (issue 11). Measured on a first import of 600,000 demo headers
-- (200,000 exposures, 1,066,342 baselines) with auto_explain:
-- 1. Foreign keys checked row by row cost 8.6 s of 78 s: each check is a query that locks the
--    referenced row (header -> import 2.1 s, exposure -> header/program/target 4.4 s,
--    observation_member -> exposure/observation 2.1 s). Every row they guarded is written by
--    apply_staged_headers alone, which writes what they refer to first, from the same staged
--    row: the import, the header, the program. The target is the one found elsewhere
--    (identify_targets, then the removal of targets left without exposures): the exposures
--    written are checked against the targets in one set-based query. An exposure's
--    observation membership is removed with it here (the ON DELETE CASCADE did it), and
--    members of a removed observation are given their new one by group_observations in the
--    same transaction. `baselines` has had no foreign key for the same reason since 0012.
-- 2. The changed headers were copied whole (keywords included) into `changed_header` and
--    sorted whole for the last occurrence of each DP.ID (6.3 s); now the last occurrences are
--    found by hashing (dp_id, ordinal) alone and the keywords stay in `staged_header`, read
--    once when the header rows are written. New headers are inserted plainly, changed ones updated (an
--    INSERT ... ON CONFLICT for each of them costs a speculative insertion).
-- 3. The header keywords are compressed with lz4 where the server has it (pglz compressing
--    them took 5 s of CPU): new and changed headers only; stored ones keep pglz until they change.
-- 4. The statistics group the published exposures once, by grouping sets, instead of five
--    times over a cross join (at 1,000,000 exposures 9.8 s -> 7.4 s; the same rows).
-- 5. The (u, v) tracks are indexed by SP-GiST instead of GiST (0012's baselines_uv, same
--    expression and name): inserting 1,066,342 baselines into it took 8 s, into SP-GiST 5.6 s.
--    The (u, v) searches pay a little for it, warm: a sector of 42,786 tracks 35 ms instead of
--    31 ms, GRAVITY's tracks in a sector 9-10 ms instead of 8-9 ms, a point within 2 m 0.9 ms
--    instead of 0.7 ms.
-- 6. The baselines come as arrays the importer stages beside their JSON, unnested into rows,
--    rather than read back out of the JSON (4 s per million baselines) by 0012's
--    baseline_rows, which nothing calls any more and goes.
-- 7. Observations are grouped again for the targets the import touched only (below).
-- The import's counts of what it read are written by the importer, which counted them as it
-- read (`src/ingest/load.rs`); three scans of the staged rows were 0.7 s.

ALTER TABLE obsportal.header DROP CONSTRAINT header_import_id_fkey;
ALTER TABLE obsportal.exposure
    DROP CONSTRAINT exposure_header_id_fkey,
    DROP CONSTRAINT exposure_program_id_fkey,
    DROP CONSTRAINT exposure_target_id_fkey;
ALTER TABLE obsportal.observation_member
    DROP CONSTRAINT observation_member_exposure_id_fkey,
    DROP CONSTRAINT observation_member_observation_id_fkey;

DROP FUNCTION obsportal.baseline_rows(text, jsonb, double precision, double precision);

DROP INDEX obsportal.baselines_uv;
CREATE INDEX baselines_uv ON obsportal.baselines
    USING spgist (box(point(u_start, v_start), point(u_end, v_end)));

DO $$
BEGIN
    ALTER TABLE obsportal.header ALTER COLUMN keywords SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported THEN
    RAISE NOTICE 'this PostgreSQL has no lz4: header keywords stay compressed with pglz';
END $$;

CREATE OR REPLACE FUNCTION obsportal.compute_statistics() RETURNS void LANGUAGE sql AS $$
    DELETE FROM obsportal.statistics;
    INSERT INTO obsportal.statistics
    SELECT CASE WHEN grouping(mode) = 0 THEN 'mode'
                WHEN grouping(year) = 0 THEN 'year'
                WHEN grouping(program) = 0 THEN 'program'
                WHEN grouping(target) = 0 THEN 'target'
                ELSE 'instrument'
           END,
           instrument_name,
           -- The dimension's own value is never NULL; the others are NULL in its set.
           coalesce(mode, year, program, target, instrument_name),
           count(*), count(DISTINCT obs_id), count(DISTINCT target_id),
           min(exp_mjd_start), max(exp_mjd_start)
      FROM (SELECT instrument_name, obs_id, target_id, exp_mjd_start,
                   coalesce(instrument_mode, '') AS mode,
                   extract(year FROM timestamp '1858-11-17' + exp_mjd_start * interval '1 day')::text AS year,
                   coalesce(obs_program, '') AS program,
                   target_id::text AS target
              FROM obsportal.exposures) x
     GROUP BY GROUPING SETS ((instrument_name), (instrument_name, mode), (instrument_name, year),
                             (instrument_name, program), (instrument_name, target));
$$;

-- Observations grouped again for the targets an import touched only (`touched_target`, made
-- by apply_staged_headers with `stale_observation`, the observations its replaced exposures
-- were in): a block never spans two targets (target_id is part of its setup), so every other
-- target's blocks are what they were. Each import grouped all 1,000,000 exposures (9.8 s for
-- 300 new headers). Same rule as 0018 otherwise.
CREATE OR REPLACE FUNCTION obsportal.group_observations(gap_days double precision) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    CREATE TEMP TABLE exposure_block ON COMMIT DROP AS
    WITH gaps AS (
        SELECT id, mjd_start, mjd_end, ob_id, target_id, instrument_name, instrument_mode,
               instrument_submode, stations, program_id, obs_type,
               mjd_start - lag(coalesce(mjd_end, mjd_start)) OVER setup AS gap
          FROM obsportal.exposure
         WHERE target_id IN (SELECT target_id FROM touched_target)
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

    -- The touched targets' observations that no longer start a block go.
    DELETE FROM obsportal.observation o
     WHERE (o.id IN (SELECT id FROM stale_observation)
            OR o.id IN (SELECT m.observation_id
                          FROM obsportal.observation_member m
                          JOIN obsportal.exposure e ON e.id = m.exposure_id
                         WHERE e.target_id IN (SELECT target_id FROM touched_target)))
       AND NOT EXISTS (SELECT 1 FROM exposure_block b WHERE b.first_exposure_id = o.first_exposure_id);

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

CREATE OR REPLACE FUNCTION obsportal.apply_staged_headers(
    import bigint, target_radius_deg double precision, observation_gap_days double precision
) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    -- When the exposures changed, as the change feed sees it: taken here, after the import's
    -- lock (imports are serialised), so that timestamps follow the order imports commit in and
    -- a client polling by timestamp never misses an import that committed after it looked.
    applied_at      timestamptz := clock_timestamp();
    new_headers     integer;
    changed_headers integer;
    new_targets     integer := 0;
    orphan          text;
BEGIN
    -- A plan for 300 staged headers against 1,000,000 stored ones differs from a plan for the
    -- reverse: the planner needs to know which it is.
    ANALYZE staged_header (dp_id, ordinal);
    -- The last occurrence of a DP.ID in this import wins. Everything but the keywords.
    CREATE TEMP TABLE changed_header ON COMMIT DROP AS
    SELECT s.ordinal, s.dp_id, s.source, s.drop_reason, s.exposure_id, s.interferometer,
           s.instrument_name, s.instrument_mode, s.instrument_submode, s.em_min, s.em_max,
           s.em_res_power, s.program_id, s.pi_coi, s.ob_id, s.obs_type, s.target_name, s.ra, s.dec,
           s.mjd_start, s.mjd_end, s.exptime, s.stations, s.projected_baselines,
           s.projected_baselines_text, s.tau0, s.temperature, s.seeing, s.validation_level,
           s.validation_log, s.date_release, s.lst_start, s.lst_end, s.ha_start, s.ha_end,
           s.airmass_start, s.airmass_end, s.baseline_station1, s.baseline_station2,
           s.baseline_length_start, s.baseline_length_end, s.baseline_angle_start,
           s.baseline_angle_end, s.baseline_u_start, s.baseline_v_start, s.baseline_u_end,
           s.baseline_v_end,
           h.dp_id IS NULL AS is_new, NULL::integer AS target_id
      FROM staged_header s
      LEFT JOIN obsportal.header h USING (dp_id)
     WHERE NOT EXISTS (SELECT FROM staged_header later
                        WHERE later.dp_id = s.dp_id AND later.ordinal > s.ordinal)
       AND (h.dp_id IS NULL OR h.keywords IS DISTINCT FROM s.keywords);
    SELECT count(*) FILTER (WHERE is_new), count(*) FILTER (WHERE NOT is_new)
      INTO new_headers, changed_headers FROM changed_header;

    IF new_headers + changed_headers > 0 THEN
        -- Exposures of changed headers are derived again from scratch, baselines and all.
        CREATE TEMP TABLE replaced_exposure ON COMMIT DROP AS
        SELECT e.id, e.target_id FROM obsportal.exposure e JOIN changed_header c ON e.header_id = c.dp_id
         WHERE NOT c.is_new;
        -- Their observations are grouped again (group_observations), even if none of their
        -- exposures is left.
        CREATE TEMP TABLE stale_observation ON COMMIT DROP AS
        SELECT DISTINCT m.observation_id AS id
          FROM obsportal.observation_member m JOIN replaced_exposure r ON m.exposure_id = r.id;
        DELETE FROM obsportal.baselines b USING replaced_exposure r WHERE b.exp_id = r.id;
        DELETE FROM obsportal.observation_member m USING replaced_exposure r WHERE m.exposure_id = r.id;
        DELETE FROM obsportal.exposure e USING replaced_exposure r WHERE e.id = r.id;

        -- The staged rows are picked by the ordinals of changed_header (hashed: narrow), so
        -- that the keywords are read in one pass and never hashed.
        UPDATE obsportal.header h
           SET source = s.source, keywords = s.keywords, accepted = s.drop_reason IS NULL,
               drop_reason = s.drop_reason, import_id = import
          FROM staged_header s
         WHERE s.ordinal IN (SELECT ordinal FROM changed_header WHERE NOT is_new)
           AND h.dp_id = s.dp_id;
        INSERT INTO obsportal.header (dp_id, source, keywords, accepted, drop_reason, import_id)
        SELECT s.dp_id, s.source, s.keywords, s.drop_reason IS NULL, s.drop_reason, import
          FROM staged_header s
         WHERE s.ordinal IN (SELECT ordinal FROM changed_header WHERE is_new);

        INSERT INTO obsportal.program (id, pi_coi)
        SELECT DISTINCT ON (program_id) program_id, pi_coi FROM changed_header
         WHERE drop_reason IS NULL AND program_id IS NOT NULL
         ORDER BY program_id, pi_coi IS NULL, ordinal DESC
        ON CONFLICT (id) DO UPDATE SET pi_coi = excluded.pi_coi
         WHERE excluded.pi_coi IS NOT NULL AND program.pi_coi IS DISTINCT FROM excluded.pi_coi;

        INSERT INTO obsportal.instrument_mode (instrument_name, mode, em_min, em_max, em_res_power)
        SELECT DISTINCT ON (instrument_name, instrument_mode)
               instrument_name, instrument_mode, em_min, em_max, em_res_power
          FROM changed_header WHERE drop_reason IS NULL AND instrument_mode IS NOT NULL
        ON CONFLICT (instrument_name, mode) DO UPDATE
           SET em_min = excluded.em_min, em_max = excluded.em_max, em_res_power = excluded.em_res_power
         WHERE (instrument_mode.em_min, instrument_mode.em_max, instrument_mode.em_res_power)
               IS DISTINCT FROM (excluded.em_min, excluded.em_max, excluded.em_res_power);

        new_targets := obsportal.identify_targets(target_radius_deg);

        INSERT INTO obsportal.exposure (
            id, header_id, interferometer, instrument_name, instrument_mode, instrument_submode,
            program_id, ob_id, obs_type, target_name, ra, dec, mjd_start, mjd_end, exptime, stations,
            projected_baselines, projected_baselines_text, tau0, temperature, seeing,
            validation_level, validation_log, date_updated, date_release, target_id,
            lst_start, lst_end, ha_start, ha_end, airmass_start, airmass_end)
        SELECT exposure_id, dp_id, interferometer, instrument_name, instrument_mode, instrument_submode,
               program_id, ob_id, obs_type, target_name, ra, dec, mjd_start, mjd_end, exptime, stations,
               projected_baselines, projected_baselines_text, tau0, temperature, seeing,
               validation_level, validation_log, applied_at, date_release, target_id,
               lst_start, lst_end, ha_start, ha_end, airmass_start, airmass_end
          FROM changed_header WHERE drop_reason IS NULL;
        -- The rows of 0012's baseline_rows, from the arrays the importer staged beside the JSON.
        INSERT INTO obsportal.baselines
        SELECT c.exposure_id, b.station1, b.station2,
               b.length_start, b.length_end, b.angle_start, b.angle_end,
               coalesce(b.u_start, b.length_start * sin(radians(b.angle_start))),
               coalesce(b.v_start, b.length_start * cos(radians(b.angle_start))),
               coalesce(b.u_end, b.length_end * sin(radians(b.angle_end))),
               coalesce(b.v_end, b.length_end * cos(radians(b.angle_end))),
               least(b.length_start, b.length_end) / c.em_max,
               greatest(b.length_start, b.length_end) / c.em_min
          FROM changed_header c,
               unnest(c.baseline_station1, c.baseline_station2,
                      c.baseline_length_start, c.baseline_length_end,
                      c.baseline_angle_start, c.baseline_angle_end,
                      c.baseline_u_start, c.baseline_v_start, c.baseline_u_end, c.baseline_v_end)
                   AS b (station1, station2, length_start, length_end, angle_start, angle_end,
                         u_start, v_start, u_end, v_end)
         WHERE c.drop_reason IS NULL;

        -- Targets whose every exposure changed position (or was dropped) go.
        DELETE FROM obsportal.target t
         WHERE NOT EXISTS (SELECT 1 FROM obsportal.exposure e WHERE e.target_id = t.id);

        -- What the target foreign key guarded, for the exposures written here, in one pass.
        SELECT c.exposure_id INTO orphan FROM changed_header c
         WHERE c.drop_reason IS NULL
           AND NOT EXISTS (SELECT FROM obsportal.target t WHERE t.id = c.target_id)
         LIMIT 1;
        IF orphan IS NOT NULL THEN
            RAISE EXCEPTION 'import %: exposure % has no target', import, orphan;
        END IF;

        -- The targets whose exposures changed: only theirs are grouped again.
        CREATE TEMP TABLE touched_target ON COMMIT DROP AS
        SELECT target_id FROM replaced_exposure
         UNION SELECT target_id FROM changed_header WHERE drop_reason IS NULL;
        ANALYZE touched_target, stale_observation;
        PERFORM obsportal.group_observations(observation_gap_days);
        -- A concurrent refresh keeps the view readable, but inserts every changed row into its
        -- indexes one by one. An empty view has nothing to keep readable: a plain refresh
        -- builds its indexes in bulk.
        IF EXISTS (SELECT FROM obsportal.exposures) THEN
            REFRESH MATERIALIZED VIEW CONCURRENTLY obsportal.exposures;
        ELSE
            REFRESH MATERIALIZED VIEW obsportal.exposures;
        END IF;
        IF EXISTS (SELECT FROM obsportal.targets) THEN
            REFRESH MATERIALIZED VIEW CONCURRENTLY obsportal.targets;
        ELSE
            REFRESH MATERIALIZED VIEW obsportal.targets;
        END IF;
        REFRESH MATERIALIZED VIEW obsportal.calibrations;
        REFRESH MATERIALIZED VIEW obsportal.blocks;
        REFRESH MATERIALIZED VIEW obsportal.coverage;
        PERFORM obsportal.compute_statistics();
        DROP TABLE replaced_exposure, stale_observation, touched_target;
    END IF;

    UPDATE obsportal.import i
       SET finished_at = clock_timestamp(), headers_new = new_headers, headers_changed = changed_headers
     WHERE i.id = import;

    DROP TABLE changed_header;
    RETURN jsonb_build_object(
        'headers_new', new_headers,
        'headers_changed', changed_headers,
        'targets_created', new_targets,
        'exposures_total', (SELECT count(*) FROM obsportal.exposure),
        'targets_total', (SELECT count(*) FROM obsportal.target),
        'observations_total', (SELECT count(*) FROM obsportal.observation));
END $$;
