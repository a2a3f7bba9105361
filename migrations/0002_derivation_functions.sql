-- Set-based steps of an import, run inside the import's transaction.

-- Gives every accepted header staged in `changed_header` a target: the nearest existing target
-- within radius_deg; else the earliest staged pointing within radius_deg seeds a new target that
-- the others join (one set-based self-join, not a loop per target). Returns the targets created.
-- Runs before the exposures are inserted, so each exposure row is written once.
CREATE FUNCTION obsportal.identify_targets(radius_deg double precision) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    created integer;
BEGIN
    CREATE TEMP TABLE pointing ON COMMIT DROP AS
    SELECT dp_id, target_name, ra, dec, mjd_start, spoint(radians(ra), radians(dec)) AS position
      FROM changed_header WHERE drop_reason IS NULL;
    CREATE INDEX ON pointing USING gist (position);
    ANALYZE pointing;

    IF EXISTS (SELECT FROM obsportal.target) THEN
        UPDATE changed_header c
           SET target_id = (
                SELECT t.id FROM obsportal.target t
                 WHERE spoint(radians(t.ra), radians(t.dec)) @ scircle(p.position, radians(radius_deg))
                 ORDER BY spoint(radians(t.ra), radians(t.dec)) <-> p.position
                 LIMIT 1)
          FROM pointing p
         WHERE p.dp_id = c.dp_id;
        DELETE FROM pointing p USING changed_header c WHERE c.dp_id = p.dp_id AND c.target_id IS NOT NULL;
    END IF;

    CREATE TEMP TABLE seeded ON COMMIT DROP AS
    SELECT p.dp_id,
           (SELECT s.dp_id FROM pointing s
             WHERE s.position @ scircle(p.position, radians(radius_deg))
             ORDER BY s.mjd_start, s.dp_id LIMIT 1) AS seed
      FROM pointing p;
    CREATE TEMP TABLE seed_target ON COMMIT DROP AS
    SELECT seed, nextval(pg_get_serial_sequence('obsportal.target', 'id'))::integer AS target_id
      FROM (SELECT DISTINCT seed FROM seeded) seeds;
    INSERT INTO obsportal.target (id, name, ra, dec)
    SELECT st.target_id, p.target_name, p.ra, p.dec FROM seed_target st JOIN pointing p ON p.dp_id = st.seed;
    GET DIAGNOSTICS created = ROW_COUNT;
    UPDATE changed_header c SET target_id = st.target_id
      FROM seeded s JOIN seed_target st USING (seed)
     WHERE c.dp_id = s.dp_id;

    DROP TABLE pointing, seeded, seed_target;
    RETURN created;
END $$;

-- Rebuilds the blocks of exposures (observations): same OB, target, mode, submode, stations,
-- program and type, with no gap longer than gap_days between one exposure's end and the next start.
-- Unchanged blocks keep their id (they are keyed by their first exposure).
CREATE FUNCTION obsportal.group_observations(gap_days double precision) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    CREATE TEMP TABLE exposure_block ON COMMIT DROP AS
    WITH keyed AS (
        SELECT id, mjd_start, mjd_end,
               jsonb_build_array(ob_id, target_id, instrument_name, instrument_mode, instrument_submode,
                                 stations, program_id, obs_type) AS block_key
          FROM obsportal.exposure
    ), gaps AS (
        SELECT *, mjd_start - lag(coalesce(mjd_end, mjd_start)) OVER w AS gap
          FROM keyed WINDOW w AS (PARTITION BY block_key ORDER BY mjd_start, id)
    ), numbered AS (
        SELECT *, count(*) FILTER (WHERE gap IS NULL OR gap > gap_days) OVER w AS block
          FROM gaps WINDOW w AS (PARTITION BY block_key ORDER BY mjd_start, id)
    )
    SELECT id AS exposure_id, mjd_start, mjd_end,
           first_value(id) OVER (PARTITION BY block_key, block ORDER BY mjd_start, id) AS first_exposure_id
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

-- Applies the headers an import staged in the temporary table `staged_header` (created by the
-- importer in its own transaction): new and changed headers are stored, their exposures
-- replaced, targets identified, observations regrouped, the published view refreshed and the
-- statistics recomputed. Unchanged headers change nothing. Returns the counts of the import.
CREATE FUNCTION obsportal.apply_staged_headers(
    import bigint, target_radius_deg double precision, observation_gap_days double precision
) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    new_headers     integer;
    changed_headers integer;
    new_targets     integer := 0;
BEGIN
    -- The last occurrence of a DP.ID in this import wins.
    CREATE TEMP TABLE changed_header ON COMMIT DROP AS
    SELECT s.*, h.dp_id IS NULL AS is_new, NULL::integer AS target_id
      FROM (SELECT DISTINCT ON (dp_id) * FROM staged_header ORDER BY dp_id, ordinal DESC) s
      LEFT JOIN obsportal.header h USING (dp_id)
     WHERE h.dp_id IS NULL OR h.keywords IS DISTINCT FROM s.keywords;
    SELECT count(*) FILTER (WHERE is_new), count(*) FILTER (WHERE NOT is_new)
      INTO new_headers, changed_headers FROM changed_header;

    IF new_headers + changed_headers > 0 THEN
        -- Exposures of changed headers are derived again from scratch.
        DELETE FROM obsportal.exposure e USING changed_header c WHERE e.header_id = c.dp_id;

        INSERT INTO obsportal.header (dp_id, source, keywords, accepted, drop_reason, import_id)
        SELECT dp_id, source, keywords, drop_reason IS NULL, drop_reason, import FROM changed_header
        ON CONFLICT (dp_id) DO UPDATE
           SET source = excluded.source, keywords = excluded.keywords, accepted = excluded.accepted,
               drop_reason = excluded.drop_reason, import_id = excluded.import_id;

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
            validation_level, validation_log, date_updated, date_release, target_id)
        SELECT exposure_id, dp_id, interferometer, instrument_name, instrument_mode, instrument_submode,
               program_id, ob_id, obs_type, target_name, ra, dec, mjd_start, mjd_end, exptime, stations,
               projected_baselines, projected_baselines_text, tau0, temperature, seeing,
               validation_level, validation_log, now(), date_release, target_id
          FROM changed_header WHERE drop_reason IS NULL;

        -- Targets whose every exposure changed position (or was dropped) go.
        DELETE FROM obsportal.target t
         WHERE NOT EXISTS (SELECT 1 FROM obsportal.exposure e WHERE e.target_id = t.id);
        PERFORM obsportal.group_observations(observation_gap_days);
        REFRESH MATERIALIZED VIEW CONCURRENTLY obsportal.exposures;
        PERFORM obsportal.compute_statistics();
    END IF;

    UPDATE obsportal.import i
       SET finished_at = clock_timestamp(),
           headers_read = (SELECT count(*) FROM staged_header),
           headers_new = new_headers,
           headers_changed = changed_headers,
           accepted = (SELECT count(*) FROM staged_header WHERE drop_reason IS NULL),
           dropped = coalesce((SELECT jsonb_object_agg(drop_reason, n) FROM (
                         SELECT drop_reason, count(*) AS n FROM staged_header
                          WHERE drop_reason IS NOT NULL GROUP BY drop_reason) d), '{}'::jsonb)
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
