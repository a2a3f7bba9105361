-- Imports rewrite the published exposures, target summaries, observation blocks and
-- calibrator pairs of the targets they touched only, instead of recomputing the four views
-- for everything (issue 11: a harvest of 300 new headers into 1,000,000 exposures took 50 s,
-- about 10 s of it refreshing `exposures` concurrently, 13 s `targets`, 8 s `blocks` and
-- 5 s `calibrations`). A published exposure reads its own exposure, target, observation,
-- program and instrument mode; a target's summary and its blocks read nothing but its
-- exposures and their baselines (a block's setup includes its target); a science
-- observation's calibrators are observations of its setup (program, instrument, mode,
-- stations). An import changes the exposures, observations and targets of the targets it
-- touches alone (`touched_target`, made by apply_staged_headers: the targets of the exposures
-- it wrote and of those it replaced), and it counts in the targets of the exposures whose
-- program or instrument mode it rewrote: every other target's rows, and every other setup's
-- pairs, are what they were. The four views become tables with the same name, columns,
-- indexes, statistics and grant, written by `publish_touched_targets` (the views' queries of
-- 0012 and 0019, restricted to the touched targets and their setups); only the published
-- exposures that differ are written again. A first import touches every target, which is the
-- full computation. Readers see the old rows until the import commits, as with a concurrent
-- refresh. The statistics are summed from counts kept per target (below); the sky coverage is
-- still computed over every exposure.
--
-- Also: the targets left without exposures are looked for among the replaced exposures'
-- targets only (they are the only ones an import can empty: 1.5 s over every target), and a
-- bulk import into an empty database builds the four tables' indexes after their rows, like
-- the exposures' and baselines' (defer_import_indexes of 0021, which now creates its list only
-- when it defers).

-- What makes a relation's indexes, extended statistics and the query role's grant again.
CREATE FUNCTION pg_temp.attachments(relation oid) RETURNS text[] LANGUAGE sql AS $$
    SELECT ARRAY(
        SELECT pg_get_indexdef(indexrelid) FROM pg_index WHERE indrelid = relation
        UNION ALL
        SELECT pg_get_statisticsobjdef(oid) FROM pg_statistic_ext WHERE stxrelid = relation
        UNION ALL
        SELECT format('GRANT SELECT ON %s TO obsportal_query', relation::regclass)
         WHERE has_table_privilege('obsportal_query', relation, 'SELECT'))
$$;

-- A materialised view becomes a table of the same name and rows, with its attachments; the
-- views over it (ivoa.obscore) are pointed at the table and the materialised views over it
-- (calibrations, coverage) made again over the table, with theirs.
CREATE FUNCTION pg_temp.materialised_view_to_table(view_name text) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    view_oid oid := view_name::regclass;
    own text[] := pg_temp.attachments(view_oid);
    dependents text[] := ARRAY[]::text[];
    dependent record;
    statement text;
BEGIN
    FOR dependent IN
        SELECT DISTINCT c.oid, c.relkind
          FROM pg_depend d
          JOIN pg_rewrite r ON r.oid = d.objid
          JOIN pg_class c ON c.oid = r.ev_class
         WHERE d.classid = 'pg_rewrite'::regclass AND d.refobjid = view_oid AND c.oid <> view_oid
    LOOP
        dependents := dependents
            || format(CASE dependent.relkind WHEN 'm' THEN 'CREATE MATERIALIZED VIEW %s AS %s'
                                             ELSE 'CREATE OR REPLACE VIEW %s AS %s' END,
                      dependent.oid::regclass, pg_get_viewdef(dependent.oid))
            || CASE dependent.relkind WHEN 'm' THEN pg_temp.attachments(dependent.oid)
                                      ELSE ARRAY[]::text[] END;
        IF dependent.relkind = 'm' THEN
            EXECUTE format('DROP MATERIALIZED VIEW %s', dependent.oid::regclass);
        END IF;
    END LOOP;
    EXECUTE format('CREATE TABLE %s_maintained AS SELECT * FROM %s', view_name, view_name);
    EXECUTE format('ALTER MATERIALIZED VIEW %s RENAME TO %s', view_name,
                   split_part(view_name, '.', 2) || '_replaced');
    EXECUTE format('ALTER TABLE %s_maintained RENAME TO %s', view_name,
                   split_part(view_name, '.', 2));
    FOREACH statement IN ARRAY dependents LOOP
        EXECUTE statement;
    END LOOP;
    EXECUTE format('DROP MATERIALIZED VIEW %s_replaced', view_name);
    FOREACH statement IN ARRAY own LOOP
        EXECUTE statement;
    END LOOP;
    EXECUTE format('ANALYZE %s', view_name);
END $$;
-- Those over the exposures first: then they no longer depend on them.
SELECT pg_temp.materialised_view_to_table('obsportal.targets');
SELECT pg_temp.materialised_view_to_table('obsportal.blocks');
SELECT pg_temp.materialised_view_to_table('obsportal.exposures');
SELECT pg_temp.materialised_view_to_table('obsportal.calibrations');
-- 0019 recreated `blocks` after 0013 gave it statistics on its zones: they went with the view.
CREATE STATISTICS IF NOT EXISTS obsportal.blocks_dec_zone ON (floor(target_dec * 3600))
    FROM obsportal.blocks;

-- The counts behind `statistics`, per target: its exposures and observations by instrument,
-- mode and program, and by instrument and year. An observation belongs to one target and one
-- setup (instrument, mode, program), so the statistics of an instrument, a mode, a program or a
-- target are sums over these rows (and their target counts, counts of rows); a year's from the
-- second table (an observation across New Year counts in both years, as before). Kept for the
-- touched targets like the published rows; compute_statistics rolls them up (it grouped every
-- exposure five ways: 5-6 s per import at 1,000,000 exposures).
CREATE TABLE obsportal.target_setup_count (
    target_id       integer NOT NULL,
    instrument_name text NOT NULL,
    mode            text NOT NULL,   -- '' where the mode is not known, as in `statistics`
    program         text NOT NULL,   -- '' where there is no program
    exposures       bigint NOT NULL,
    observations    bigint NOT NULL,
    first_mjd       double precision,
    last_mjd        double precision
);
CREATE INDEX target_setup_count_target ON obsportal.target_setup_count (target_id);
CREATE TABLE obsportal.target_year_count (
    target_id       integer NOT NULL,
    instrument_name text NOT NULL,
    year            text NOT NULL,
    exposures       bigint NOT NULL,
    observations    bigint NOT NULL,
    first_mjd       double precision,
    last_mjd        double precision
);
CREATE INDEX target_year_count_target ON obsportal.target_year_count (target_id);

-- The counts of the targets in `touched_target` replaced by what their published exposures
-- say now.
CREATE FUNCTION obsportal.count_touched_targets() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM obsportal.target_setup_count WHERE target_id IN (SELECT target_id FROM touched_target);
    INSERT INTO obsportal.target_setup_count
    SELECT target_id, instrument_name, coalesce(instrument_mode, ''), coalesce(obs_program, ''),
           count(*), count(DISTINCT obs_id), min(exp_mjd_start), max(exp_mjd_start)
      FROM obsportal.exposures WHERE target_id IN (SELECT target_id FROM touched_target)
     GROUP BY 1, 2, 3, 4;
    DELETE FROM obsportal.target_year_count WHERE target_id IN (SELECT target_id FROM touched_target);
    INSERT INTO obsportal.target_year_count
    SELECT target_id, instrument_name,
           extract(year FROM timestamp '1858-11-17' + exp_mjd_start * interval '1 day')::text,
           count(*), count(DISTINCT obs_id), min(exp_mjd_start), max(exp_mjd_start)
      FROM obsportal.exposures WHERE target_id IN (SELECT target_id FROM touched_target)
     GROUP BY 1, 2, 3;
END $$;

-- What is published of each exposure (0012's view): read by publish_touched_targets for the
-- touched targets' exposures.
CREATE VIEW obsportal.exposure_publication AS
SELECT e.id                        AS exp_id,
       e.header_id                 AS exp_header_id,
       e.mjd_start                 AS exp_mjd_start,
       e.mjd_end                   AS exp_mjd_end,
       e.projected_baselines_text  AS exp_projected_baselines,
       e.validation_level::integer AS exp_validation_level,
       e.validation_log::text      AS exp_validation_log,
       e.tau0                      AS exp_tau0,
       e.temperature               AS exp_temperature,
       e.seeing                    AS exp_seeing,
       e.date_updated              AS exp_date_updated,
       e.date_release              AS exp_date_release,
       om.observation_id           AS obs_id,
       e.obs_type                  AS obs_type,
       e.program_id                AS obs_program,
       p.title                     AS obs_program_title,
       p.pi_coi                    AS obs_program_pi_coi,
       e.interferometer            AS interferometer_name,
       e.stations                  AS interferometer_stations,
       e.instrument_name           AS instrument_name,
       e.instrument_mode           AS instrument_mode,
       e.instrument_submode        AS instrument_submode,
       m.em_min                    AS instrument_em_min,
       m.em_max                    AS instrument_em_max,
       m.em_res_power              AS instrument_em_res_power,
       e.target_id                 AS target_id,
       t.name                      AS target_name,
       t.ra                        AS target_ra,
       t.dec                       AS target_dec,
       e.exptime                   AS exp_exptime,
       e.ob_id                     AS obs_ob_id,
       e.lst_start                 AS exp_lst_start,
       e.lst_end                   AS exp_lst_end,
       e.ha_start                  AS exp_ha_start,
       e.ha_end                    AS exp_ha_end,
       e.airmass_start             AS exp_airmass_start,
       e.airmass_end               AS exp_airmass_end
  FROM obsportal.exposure e
  JOIN obsportal.target t ON t.id = e.target_id
  JOIN obsportal.observation_member om ON om.exposure_id = e.id
  LEFT JOIN obsportal.program p ON p.id = e.program_id
  LEFT JOIN obsportal.instrument_mode m
         ON m.instrument_name = e.instrument_name AND m.mode = e.instrument_mode;

-- The published rows of the targets in `touched_target` (and the calibrator pairs of their
-- setups) replaced by what the store says now.
-- A touched target's exposures are mostly as they were (a harvest adds a night to a target
-- observed for years): only those that differ are written, each into 19 indexes. The rest
-- keep their row.
CREATE FUNCTION obsportal.publish_touched_targets() RETURNS void LANGUAGE plpgsql
-- A Memoize node over each baseline's two (u, v) points, keyed by the points themselves,
-- never finds one twice: the summaries of a first import took 3.1 s with it, 2.0 s without.
SET enable_memoize = off AS $$
DECLARE
    -- Nothing published yet (a first import): nothing to compare with, and no statistics.
    first boolean := NOT EXISTS (SELECT FROM obsportal.exposures);
BEGIN
    -- Calibrations pair observations of one setup (program, instrument, mode, stations)
    -- across targets: the setups the touched targets' exposures were published with and
    -- their observations, before those rows change.
    CREATE TEMP TABLE touched_setup ON COMMIT DROP AS
    SELECT DISTINCT jsonb_build_array(obs_program, instrument_name, instrument_mode,
                                      interferometer_stations) AS setup
      FROM obsportal.exposures WHERE target_id IN (SELECT target_id FROM touched_target);
    CREATE TEMP TABLE touched_observation ON COMMIT DROP AS
    SELECT DISTINCT obs_id FROM obsportal.exposures
     WHERE target_id IN (SELECT target_id FROM touched_target);

    IF first THEN
        INSERT INTO obsportal.exposures
        SELECT * FROM obsportal.exposure_publication
         WHERE target_id IN (SELECT target_id FROM touched_target);
        -- What follows joins them with the baselines: without statistics the planner took the
        -- baselines of 200,000 exposures for 770 million rows (the summaries took 4.0 s instead
        -- of 1.5 s). After later imports the statistics still hold well enough, and
        -- autovacuum renews them.
        ANALYZE obsportal.exposures, obsportal.baselines;
    ELSE
        CREATE TEMP TABLE fresh_exposure ON COMMIT DROP AS
        SELECT * FROM obsportal.exposure_publication
         WHERE target_id IN (SELECT target_id FROM touched_target);
        -- Compared in a table of their own: an insertion checked against the table it inserts
        -- into rereads the rows it has written so far (quadratic when the planner loops).
        CREATE TEMP TABLE unchanged_exposure ON COMMIT DROP AS
        SELECT x.exp_id FROM obsportal.exposures x JOIN fresh_exposure f ON f.exp_id = x.exp_id
         WHERE x.target_id IN (SELECT target_id FROM touched_target)
           AND (f.*) IS NOT DISTINCT FROM (x.*);
        ANALYZE fresh_exposure, unchanged_exposure;
        DELETE FROM obsportal.exposures x
         WHERE x.target_id IN (SELECT target_id FROM touched_target)
           AND NOT EXISTS (SELECT FROM unchanged_exposure u WHERE u.exp_id = x.exp_id);
        INSERT INTO obsportal.exposures
        SELECT f.* FROM fresh_exposure f
         WHERE NOT EXISTS (SELECT FROM unchanged_exposure u WHERE u.exp_id = f.exp_id);
        DROP TABLE fresh_exposure, unchanged_exposure;
    END IF;

    DELETE FROM obsportal.targets WHERE target_id IN (SELECT target_id FROM touched_target);
    INSERT INTO obsportal.targets
    WITH uv AS (
        SELECT x.target_id,
               count(DISTINCT obsportal.uv_cell(p.u, p.v, 10)) AS uv_cells,
               min(least(b.length_start, b.length_end)) AS shortest_baseline,
               max(greatest(b.length_start, b.length_end)) AS longest_baseline
          FROM obsportal.exposures x
          JOIN obsportal.baselines b ON b.exp_id = x.exp_id
         CROSS JOIN LATERAL (VALUES (b.u_start, b.v_start), (b.u_end, b.v_end)) AS p (u, v)
         WHERE p.u IS NOT NULL AND p.v IS NOT NULL
           AND x.target_id IN (SELECT target_id FROM touched_target)
         GROUP BY x.target_id
    )
    SELECT x.target_id,
           min(x.target_name)                                  AS target_name,
           min(x.target_ra)                                    AS target_ra,
           min(x.target_dec)                                   AS target_dec,
           count(*)                                            AS exposures,
           count(DISTINCT x.obs_id)                            AS observations,
           min(x.exp_mjd_start)                                AS first_mjd,
           max(x.exp_mjd_start)                                AS last_mjd,
           string_agg(DISTINCT x.instrument_name, ' ' ORDER BY x.instrument_name) AS instruments,
           count(DISTINCT x.interferometer_stations)           AS configurations,
           min(x.exp_ha_start)                                 AS ha_min,
           max(coalesce(x.exp_ha_end, x.exp_ha_start))         AS ha_max,
           min(uv.shortest_baseline)                           AS shortest_baseline,
           min(uv.longest_baseline)                            AS longest_baseline,
           coalesce(min(uv.uv_cells), 0)                       AS uv_cells,
           least(1.0, min(uv.uv_cells) / (pi() * (min(uv.longest_baseline) / 10) ^ 2 / 2)) AS uv_coverage
      FROM obsportal.exposures x
      LEFT JOIN uv ON uv.target_id = x.target_id
     WHERE x.target_id IN (SELECT target_id FROM touched_target)
     GROUP BY x.target_id;

    DELETE FROM obsportal.blocks WHERE target_id IN (SELECT target_id FROM touched_target);
    INSERT INTO obsportal.blocks
    WITH ordered AS (
        SELECT x.exp_id, x.target_id, x.target_name, x.target_ra, x.target_dec, x.instrument_name,
               x.instrument_mode, x.interferometer_stations, x.exp_mjd_start, x.exp_mjd_end,
               x.exp_lst_start, x.exp_lst_end, x.exp_ha_start, x.exp_ha_end,
               x.exp_projected_baselines,
               x.exp_mjd_start - lag(coalesce(x.exp_mjd_end, x.exp_mjd_start)) OVER setup AS gap
          FROM obsportal.exposures x
         WHERE x.target_id IN (SELECT target_id FROM touched_target)
        WINDOW setup AS (PARTITION BY target_id, instrument_name, instrument_mode, interferometer_stations
                         ORDER BY exp_mjd_start, exp_id)
    ), numbered AS (
        SELECT o.*, count(*) FILTER (WHERE gap IS NULL OR gap > 30.0 / 1440) OVER (
                   PARTITION BY target_id, instrument_name, instrument_mode, interferometer_stations
                   ORDER BY exp_mjd_start, exp_id) AS block
          FROM ordered o
    )
    SELECT (array_agg(exp_id ORDER BY exp_mjd_start, exp_id))[1] AS block_id,
           target_id, min(target_name) AS target_name, min(target_ra) AS target_ra,
           min(target_dec) AS target_dec, instrument_name, instrument_mode,
           interferometer_stations, count(*) AS exposures,
           min(exp_mjd_start) AS mjd_start, max(coalesce(exp_mjd_end, exp_mjd_start)) AS mjd_end,
           (array_agg(exp_lst_start ORDER BY exp_mjd_start, exp_id))[1] AS lst_start,
           (array_agg(exp_lst_end ORDER BY exp_mjd_start DESC, exp_id DESC))[1] AS lst_end,
           (array_agg(exp_ha_start ORDER BY exp_mjd_start, exp_id))[1] AS ha_start,
           (array_agg(exp_ha_end ORDER BY exp_mjd_start DESC, exp_id DESC))[1] AS ha_end,
           (array_agg(exp_projected_baselines ORDER BY exp_mjd_start, exp_id))[1] AS baselines_start,
           (array_agg(exp_projected_baselines ORDER BY exp_mjd_start DESC, exp_id DESC))[1] AS baselines_end
      FROM numbered
     GROUP BY target_id, instrument_name, instrument_mode, interferometer_stations, block;

    PERFORM obsportal.count_touched_targets();

    -- The setups they are published with now, and every observation of those setups: each
    -- science observation there is paired again (0012's query over these setups only).
    INSERT INTO touched_setup
    SELECT jsonb_build_array(obs_program, instrument_name, instrument_mode, interferometer_stations)
      FROM obsportal.exposures WHERE target_id IN (SELECT target_id FROM touched_target)
    EXCEPT SELECT setup FROM touched_setup;
    CREATE TEMP TABLE setup_exposure ON COMMIT DROP AS
    SELECT obs_id, obs_type, target_id, target_name, exp_id, exp_mjd_start, exp_mjd_end,
           obs_program, instrument_name, instrument_mode, interferometer_stations
      FROM obsportal.exposures
     WHERE jsonb_build_array(obs_program, instrument_name, instrument_mode, interferometer_stations)
           IN (SELECT setup FROM touched_setup);
    DELETE FROM obsportal.calibrations
     WHERE obs_id IN (SELECT obs_id FROM touched_observation UNION SELECT obs_id FROM setup_exposure);
    INSERT INTO obsportal.calibrations
    WITH observation AS (
        SELECT obs_id, obs_type, min(target_id) AS target_id, min(target_name) AS target_name,
               (array_agg(exp_id ORDER BY exp_mjd_start, exp_id))[1] AS first_exp_id,
               min(exp_mjd_start) AS mjd_start,
               max(coalesce(exp_mjd_end, exp_mjd_start)) AS mjd_end,
               jsonb_build_array(obs_program, instrument_name, instrument_mode,
                                 interferometer_stations) AS setup
          FROM setup_exposure
         GROUP BY obs_id, obs_type, obs_program, instrument_name, instrument_mode, interferometer_stations
    ), numbered AS (
        SELECT o.*, row_number() OVER (PARTITION BY setup ORDER BY mjd_start, obs_id) AS n
          FROM observation o
    ), neighbours AS (
        SELECT s.*,
               max(n) FILTER (WHERE obs_type = 'calibrator') OVER (PARTITION BY setup ORDER BY n
                   ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS before_n,
               min(n) FILTER (WHERE obs_type = 'calibrator') OVER (PARTITION BY setup ORDER BY n
                   ROWS BETWEEN 1 FOLLOWING AND UNBOUNDED FOLLOWING) AS after_n
          FROM numbered s
    )
    SELECT s.obs_id, 'before'::text AS sequence, c.obs_id AS cal_obs_id, c.first_exp_id AS cal_exp_id,
           c.target_id AS cal_target_id, c.target_name AS cal_target_name,
           (s.mjd_start - c.mjd_end) * 1440 AS gap_minutes
      FROM neighbours s JOIN numbered c ON c.setup = s.setup AND c.n = s.before_n
     WHERE s.obs_type = 'science' AND c.mjd_end <= s.mjd_start AND c.mjd_end > s.mjd_start - 3.0 / 24
    UNION ALL
    SELECT s.obs_id, 'after', c.obs_id, c.first_exp_id, c.target_id, c.target_name,
           (c.mjd_start - s.mjd_end) * 1440
      FROM neighbours s JOIN numbered c ON c.setup = s.setup AND c.n = s.after_n
     WHERE s.obs_type = 'science' AND c.mjd_start >= s.mjd_end AND c.mjd_start < s.mjd_end + 3.0 / 24;
    DROP TABLE touched_setup, touched_observation, setup_exposure;
END $$;

-- The statistics rolled up from the counts per target above (0020 grouped every exposure).
CREATE OR REPLACE FUNCTION obsportal.compute_statistics() RETURNS void LANGUAGE sql AS $$
    DELETE FROM obsportal.statistics;
    INSERT INTO obsportal.statistics
    SELECT 'instrument', instrument_name, instrument_name, sum(exposures), sum(observations),
           count(DISTINCT target_id), min(first_mjd), max(last_mjd)
      FROM obsportal.target_setup_count GROUP BY instrument_name
    UNION ALL
    SELECT 'mode', instrument_name, mode, sum(exposures), sum(observations),
           count(DISTINCT target_id), min(first_mjd), max(last_mjd)
      FROM obsportal.target_setup_count GROUP BY instrument_name, mode
    UNION ALL
    SELECT 'program', instrument_name, program, sum(exposures), sum(observations),
           count(DISTINCT target_id), min(first_mjd), max(last_mjd)
      FROM obsportal.target_setup_count GROUP BY instrument_name, program
    UNION ALL
    SELECT 'target', instrument_name, target_id::text, sum(exposures), sum(observations), 1,
           min(first_mjd), max(last_mjd)
      FROM obsportal.target_setup_count GROUP BY instrument_name, target_id
    UNION ALL
    SELECT 'year', instrument_name, year, sum(exposures), sum(observations),
           count(DISTINCT target_id), min(first_mjd), max(last_mjd)
      FROM obsportal.target_year_count GROUP BY instrument_name, year;
$$;

-- Filled for the exposures published so far, every target counted as if touched.
CREATE TEMP TABLE touched_target AS SELECT DISTINCT target_id FROM obsportal.exposures;
SELECT obsportal.count_touched_targets();
DROP TABLE touched_target;

-- As 0021, with the published tables above among those whose indexes a bulk import builds
-- after their rows while nothing is published yet, and the list of deferred indexes made only
-- when there is one.
CREATE OR REPLACE FUNCTION obsportal.defer_import_indexes() RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    staged bigint := (SELECT count(*) FROM staged_header);
    -- Counted no further than needed: the answer is only "more than staged or not".
    stored bigint := (SELECT count(*) FROM (SELECT FROM obsportal.header LIMIT staged + 1) h);
    deferred record;
BEGIN
    IF staged <= stored THEN
        RETURN 0;
    END IF;
    CREATE TEMP TABLE deferred_index (drop_ddl text, build_ddl text) ON COMMIT DROP;
    -- The tables an import fills row by row. Observations and their members are written
    -- with ON CONFLICT, which needs their unique indexes. The headers keep their primary key:
    -- it finds the stored version of each staged header (0021).
    INSERT INTO deferred_index
    SELECT CASE WHEN c.oid IS NULL THEN format('DROP INDEX %s', i.indexrelid::regclass)
                ELSE format('ALTER TABLE %s DROP CONSTRAINT %I', i.indrelid::regclass, c.conname)
           END,
           CASE WHEN c.oid IS NULL THEN pg_get_indexdef(i.indexrelid)
                ELSE format('ALTER TABLE %s ADD CONSTRAINT %I %s',
                            i.indrelid::regclass, c.conname, pg_get_constraintdef(c.oid))
           END
      FROM pg_index i
      LEFT JOIN pg_constraint c ON c.conindid = i.indexrelid AND c.contype IN ('p', 'u')
     WHERE i.indrelid IN ('obsportal.exposure'::regclass, 'obsportal.baselines'::regclass)
        -- The published tables' only before their first rows: dropping an index locks its
        -- table to the import's commit, and readers of what is published do not wait for an
        -- import (the store's tables are read by imports alone, and the baselines, as 0021).
        OR (i.indrelid IN ('obsportal.exposures'::regclass, 'obsportal.calibrations'::regclass,
                           'obsportal.targets'::regclass, 'obsportal.blocks'::regclass)
            AND NOT EXISTS (SELECT FROM obsportal.exposures));
    FOR deferred IN SELECT drop_ddl FROM deferred_index LOOP
        EXECUTE deferred.drop_ddl;
    END LOOP;
    RETURN (SELECT count(*) FROM deferred_index);
END $$;

-- As 0020, with the changes above.
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

        -- The programs and modes written here: their exposures' published rows change too.
        CREATE TEMP TABLE rewritten_program (id text) ON COMMIT DROP;
        CREATE TEMP TABLE rewritten_mode (instrument_name text, mode text) ON COMMIT DROP;
        WITH written AS (
            INSERT INTO obsportal.program (id, pi_coi)
            SELECT DISTINCT ON (program_id) program_id, pi_coi FROM changed_header
             WHERE drop_reason IS NULL AND program_id IS NOT NULL
             ORDER BY program_id, pi_coi IS NULL, ordinal DESC
            ON CONFLICT (id) DO UPDATE SET pi_coi = excluded.pi_coi
             WHERE excluded.pi_coi IS NOT NULL AND program.pi_coi IS DISTINCT FROM excluded.pi_coi
            RETURNING id)
        INSERT INTO rewritten_program SELECT id FROM written;

        WITH written AS (
            INSERT INTO obsportal.instrument_mode (instrument_name, mode, em_min, em_max, em_res_power)
            SELECT DISTINCT ON (instrument_name, instrument_mode)
                   instrument_name, instrument_mode, em_min, em_max, em_res_power
              FROM changed_header WHERE drop_reason IS NULL AND instrument_mode IS NOT NULL
            ON CONFLICT (instrument_name, mode) DO UPDATE
               SET em_min = excluded.em_min, em_max = excluded.em_max, em_res_power = excluded.em_res_power
             WHERE (instrument_mode.em_min, instrument_mode.em_max, instrument_mode.em_res_power)
                   IS DISTINCT FROM (excluded.em_min, excluded.em_max, excluded.em_res_power)
            RETURNING instrument_name, mode)
        INSERT INTO rewritten_mode SELECT instrument_name, mode FROM written;

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

        -- Targets whose every exposure changed position (or was dropped) go: only a replaced
        -- exposure's target can be one of them.
        DELETE FROM obsportal.target t
         WHERE t.id IN (SELECT target_id FROM replaced_exposure)
           AND NOT EXISTS (SELECT 1 FROM obsportal.exposure e WHERE e.target_id = t.id);

        -- What the target foreign key guarded, for the exposures written here, in one pass.
        SELECT c.exposure_id INTO orphan FROM changed_header c
         WHERE c.drop_reason IS NULL
           AND NOT EXISTS (SELECT FROM obsportal.target t WHERE t.id = c.target_id)
         LIMIT 1;
        IF orphan IS NOT NULL THEN
            RAISE EXCEPTION 'import %: exposure % has no target', import, orphan;
        END IF;

        -- The targets whose exposures changed: only theirs are grouped again and published
        -- anew, with those of the exposures published with a program or mode written here
        -- (found through the published rows' indexes; this import's own are counted in).
        CREATE TEMP TABLE touched_target ON COMMIT DROP AS
        SELECT target_id FROM replaced_exposure
         UNION SELECT target_id FROM changed_header WHERE drop_reason IS NULL
         UNION SELECT x.target_id FROM obsportal.exposures x
                WHERE x.obs_program IN (SELECT id FROM rewritten_program)
         UNION SELECT x.target_id FROM obsportal.exposures x JOIN rewritten_mode m
                   ON (x.instrument_name, x.instrument_mode) = (m.instrument_name, m.mode);
        ANALYZE touched_target, stale_observation;
        PERFORM obsportal.group_observations(observation_gap_days);
        -- What the touched targets publish only: their exposures, summaries, blocks, counts
        -- and their setups' calibrator pairs (publish_touched_targets, above).
        PERFORM obsportal.publish_touched_targets();
        REFRESH MATERIALIZED VIEW obsportal.coverage;
        PERFORM obsportal.compute_statistics();
        DROP TABLE replaced_exposure, stale_observation, touched_target, rewritten_program,
                   rewritten_mode;
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
