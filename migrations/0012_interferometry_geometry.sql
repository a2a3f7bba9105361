-- Interferometry geometry as data (issue 15).
-- 1. Each exposure's local sidereal time [h], hour angle [h] and airmass at start and end,
--    computed at ingest (src/geometry.rs) from the site, the pointing and the time. Exposures
--    imported before this migration keep NULLs until their headers are imported again.
-- 2. obsportal.baselines, published: one row per exposure and station pair, read from the
--    exposure's projected baselines, with (u, v) and the spatial frequencies its mode covers.
-- 3. obsportal.targets, published: what was observed of each target, (u, v) coverage
--    included, refreshed by each import.
-- 4. obsportal.calibrations, published: each science observation's calibrators, the
--    CAL-SCI-CAL sequence, refreshed by each import.
-- 5. obsportal.blocks, published: observation blocks as ASPRO2 groups exposures, with their
--    sidereal time and hour angle ranges and baselines, refreshed by each import.
-- 6. obsportal.coverage, published: the sky coverage of the service, of each interferometer
--    and of each instrument, as MOCs (pg_sphere's), refreshed by each import.

ALTER TABLE obsportal.exposure
    ADD COLUMN lst_start     double precision,
    ADD COLUMN lst_end       double precision,
    ADD COLUMN ha_start      double precision,
    ADD COLUMN ha_end        double precision,
    ADD COLUMN airmass_start double precision,
    ADD COLUMN airmass_end   double precision;

-- An exposure's baselines as rows, from its projected_baselines JSON. u and v [m] are the
-- computed ones; where the site or a station is unknown they follow from the published length
-- and position angle (east of north: u = L sin PA towards east, v = L cos PA towards north).
-- Spatial frequencies [1/rad]: the longest length over the shortest wavelength, the shortest
-- over the longest.
CREATE FUNCTION obsportal.baseline_rows(
    exposure_id text, baselines jsonb, em_min double precision, em_max double precision
) RETURNS TABLE (
    exp_id text, station1 text, station2 text,
    length_start double precision, length_end double precision,
    angle_start double precision, angle_end double precision,
    u_start double precision, v_start double precision,
    u_end double precision, v_end double precision,
    spatial_freq_min double precision, spatial_freq_max double precision
) LANGUAGE sql IMMUTABLE AS $$
    SELECT exposure_id, split_part(pair.key, '-', 1), split_part(pair.key, '-', 2),
           l.s, l.e, a.s, a.e,
           coalesce((pair.value #>> '{u,start}')::float8, l.s * sin(radians(a.s))),
           coalesce((pair.value #>> '{v,start}')::float8, l.s * cos(radians(a.s))),
           coalesce((pair.value #>> '{u,end}')::float8, l.e * sin(radians(a.e))),
           coalesce((pair.value #>> '{v,end}')::float8, l.e * cos(radians(a.e))),
           least(l.s, l.e) / em_max,
           greatest(l.s, l.e) / em_min
      FROM jsonb_each(baselines) AS pair,
           LATERAL (SELECT (pair.value #>> '{length,start}')::float8 AS s,
                           (pair.value #>> '{length,end}')::float8 AS e) AS l,
           LATERAL (SELECT (pair.value #>> '{angle,start}')::float8 AS s,
                           (pair.value #>> '{angle,end}')::float8 AS e) AS a
     WHERE jsonb_typeof(baselines) = 'object' AND jsonb_typeof(pair.value) = 'object'
$$;

CREATE TABLE obsportal.baselines (
    -- The exposure's id. No foreign key: its check on each of the millions of rows an import
    -- writes cost a quarter of their insertion; apply_staged_headers deletes an exposure's
    -- baselines with it.
    exp_id           text NOT NULL,
    station1         text NOT NULL,
    station2         text NOT NULL,
    length_start     double precision,
    length_end       double precision,
    angle_start      double precision,
    angle_end        double precision,
    u_start          double precision,
    v_start          double precision,
    u_end            double precision,
    v_end            double precision,
    spatial_freq_min double precision,
    spatial_freq_max double precision,
    PRIMARY KEY (exp_id, station1, station2)
);
-- The (u, v) track from start to end as a box: a region of the (u, v) plane, and so a length
-- and position-angle range (an annular sector), is found through this index; the ADQL
-- functions obsportal_uv_* are translated to its expression (adql/src/translate/uv.rs).
CREATE INDEX baselines_uv ON obsportal.baselines
    USING gist (box(point(u_start, v_start), point(u_end, v_end)));

INSERT INTO obsportal.baselines
SELECT b.* FROM obsportal.exposure e
  LEFT JOIN obsportal.instrument_mode m
         ON m.instrument_name = e.instrument_name AND m.mode = e.instrument_mode,
       obsportal.baseline_rows(e.id, e.projected_baselines, m.em_min, m.em_max) b;

GRANT SELECT ON obsportal.baselines TO obsportal_query;

-- What the ADQL functions obsportal_uv_near, obsportal_uv_sector and obsportal_angle_within
-- mean (adql/src/translate/uv.rs). uv_near and uv_sector are single SQL expressions, which
-- PostgreSQL inlines into the query: their box test on the track is then the expression of
-- baselines_uv, and the index serves it. A baseline samples (u, v) and (-u, -v) alike: both
-- are looked at.

-- A position angle [deg] modulo 180 (a baseline and its reverse are one) from "from" east to
-- "to" (both modulo 180 too; a span of 180 or more is every angle).
CREATE FUNCTION obsportal.angle_within(angle double precision, "from" double precision, "to" double precision)
RETURNS boolean LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT "to" - "from" >= 180
        OR (angle - "from") - 180 * floor((angle - "from") / 180)
           <= ("to" - "from") - 180 * floor(("to" - "from") / 180)
$$;

-- The track from (u1, v1) to (u2, v2) [m], taken straight, or its mirror image, passes within
-- `radius` of (u, v).
CREATE FUNCTION obsportal.uv_near(
    u1 double precision, v1 double precision, u2 double precision, v2 double precision,
    u double precision, v double precision, radius double precision
) RETURNS boolean LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT (box(point(u1, v1), point(u2, v2))
                && box(point(u - radius, v - radius), point(u + radius, v + radius))
            AND lseg(point(u1, v1), point(u2, v2)) <-> point(u, v) <= radius)
        OR (box(point(u1, v1), point(u2, v2))
                && box(point(-u - radius, -v - radius), point(-u + radius, -v + radius))
            AND lseg(point(u1, v1), point(u2, v2)) <-> point(-u, -v) <= radius)
$$;

-- The box around the annular sector of lengths [length_min, length_max] [m] and position
-- angles from angle_min east to angle_max [deg, spans over 180 taken as 180]: its corners and
-- where it crosses an axis.
CREATE FUNCTION obsportal.uv_sector_box(
    length_min double precision, length_max double precision,
    angle_min double precision, angle_max double precision
) RETURNS box LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    WITH span AS (
        SELECT CASE WHEN angle_max - angle_min >= 180 THEN 180
                    ELSE (angle_max - angle_min) - 180 * floor((angle_max - angle_min) / 180)
               END AS degrees
    ), angle AS (
        SELECT angle_min AS a
        UNION ALL SELECT angle_min + degrees FROM span
        UNION ALL SELECT 90 * k FROM span,
                  generate_series(ceil(angle_min / 90)::integer,
                                  floor((angle_min + degrees) / 90)::integer) AS k
    )
    SELECT box(point(min(l * sin(radians(a))), min(l * cos(radians(a)))),
               point(max(l * sin(radians(a))), max(l * cos(radians(a)))))
      FROM angle, (VALUES (length_min), (length_max)) AS length (l)
$$;

-- The baseline (u, v) [m] has a length in the range and a position angle in the range.
CREATE FUNCTION obsportal.uv_in_sector(
    u double precision, v double precision,
    length_min double precision, length_max double precision,
    angle_min double precision, angle_max double precision
) RETURNS boolean LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT sqrt(u * u + v * v) BETWEEN length_min AND length_max
       AND obsportal.angle_within(degrees(atan2(u, v)), angle_min, angle_max)
$$;

-- At the start (u1, v1) or the end (u2, v2) the baseline lies in the sector (or its mirror).
CREATE FUNCTION obsportal.uv_sector(
    u1 double precision, v1 double precision, u2 double precision, v2 double precision,
    length_min double precision, length_max double precision,
    angle_min double precision, angle_max double precision
) RETURNS boolean LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT (box(point(u1, v1), point(u2, v2))
                && obsportal.uv_sector_box(length_min, length_max, angle_min, angle_max)
            OR box(point(u1, v1), point(u2, v2))
                && obsportal.uv_sector_box(length_min, length_max, angle_min + 180, angle_max + 180))
       AND (obsportal.uv_in_sector(u1, v1, length_min, length_max, angle_min, angle_max)
            OR obsportal.uv_in_sector(u2, v2, length_min, length_max, angle_min, angle_max))
$$;

-- The staged headers carry the sky columns and the baselines are written with the exposures;
-- date_updated is when the import took its lock (for the change feed), not when it began.
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
        -- Exposures of changed headers are derived again from scratch, baselines and all.
        DELETE FROM obsportal.baselines b USING obsportal.exposure e, changed_header c
         WHERE e.header_id = c.dp_id AND b.exp_id = e.id;
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
            validation_level, validation_log, date_updated, date_release, target_id,
            lst_start, lst_end, ha_start, ha_end, airmass_start, airmass_end)
        SELECT exposure_id, dp_id, interferometer, instrument_name, instrument_mode, instrument_submode,
               program_id, ob_id, obs_type, target_name, ra, dec, mjd_start, mjd_end, exptime, stations,
               projected_baselines, projected_baselines_text, tau0, temperature, seeing,
               validation_level, validation_log, applied_at, date_release, target_id,
               lst_start, lst_end, ha_start, ha_end, airmass_start, airmass_end
          FROM changed_header WHERE drop_reason IS NULL;
        INSERT INTO obsportal.baselines
        SELECT b.* FROM changed_header c,
               obsportal.baseline_rows(c.exposure_id, c.projected_baselines, c.em_min, c.em_max) b
         WHERE c.drop_reason IS NULL;

        -- Targets whose every exposure changed position (or was dropped) go.
        DELETE FROM obsportal.target t
         WHERE NOT EXISTS (SELECT 1 FROM obsportal.exposure e WHERE e.target_id = t.id);
        PERFORM obsportal.group_observations(observation_gap_days);
        -- A concurrent refresh keeps the view readable, but inserts every changed row into its
        -- thirteen indexes one by one (17 of the 83 s of a first import of 1M headers). An
        -- empty view has nothing to keep readable: a plain refresh builds its indexes in bulk.
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

-- The published exposures gain the sky columns: the view is made again, with its indexes
-- (0003, 0006), ObsCore over it and the query role's grants. ObsCore's access_url is now the
-- exposure's DataLink links document, on the service's public URL (the setting
-- obsportal.public_url, which the server gives its query connections).
DROP MATERIALIZED VIEW obsportal.exposures CASCADE;
CREATE MATERIALIZED VIEW obsportal.exposures AS
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
         ON m.instrument_name = e.instrument_name AND m.mode = e.instrument_mode
WITH NO DATA;

CREATE UNIQUE INDEX exposures_exp_id ON obsportal.exposures (exp_id);
CREATE INDEX exposures_position ON obsportal.exposures USING gist (spoint(radians(target_ra), radians(target_dec)));
CREATE INDEX exposures_mjd_start ON obsportal.exposures (exp_mjd_start);
CREATE INDEX exposures_date_updated ON obsportal.exposures (exp_date_updated);
CREATE INDEX exposures_program ON obsportal.exposures (obs_program);
CREATE INDEX exposures_instrument ON obsportal.exposures (instrument_name, instrument_mode);
CREATE INDEX exposures_target_name ON obsportal.exposures (lower(target_name));
CREATE INDEX exposures_target_id ON obsportal.exposures (target_id);
REFRESH MATERIALIZED VIEW obsportal.exposures;
CREATE INDEX exposures_sort_target ON obsportal.exposures (target_name, exp_id);
CREATE INDEX exposures_sort_instrument ON obsportal.exposures (instrument_name, exp_id);
CREATE INDEX exposures_sort_mode ON obsportal.exposures (instrument_mode, exp_id);
CREATE INDEX exposures_sort_stations ON obsportal.exposures (interferometer_stations, exp_id);
CREATE INDEX exposures_sort_program ON obsportal.exposures (obs_program, exp_id);
CREATE INDEX exposures_sort_type ON obsportal.exposures (obs_type, exp_id);
CREATE INDEX exposures_sort_seeing ON obsportal.exposures (exp_seeing, exp_id);
CREATE INDEX exposures_sort_tau0 ON obsportal.exposures (exp_tau0, exp_id);
CREATE INDEX exposures_sort_seeing_desc ON obsportal.exposures (exp_seeing DESC NULLS LAST, exp_id DESC);
CREATE INDEX exposures_sort_tau0_desc ON obsportal.exposures (exp_tau0 DESC NULLS LAST, exp_id DESC);

CREATE VIEW ivoa.obscore AS
SELECT 'visibility'::text                                  AS dataproduct_type,
       0::integer                                          AS calib_level,
       ('ESO/VLTI/' || x.instrument_name)::text            AS obs_collection,
       x.exp_header_id                                     AS obs_id,
       ('ivo://eso.org/ID?' || x.exp_header_id)::text       AS obs_publisher_did,
       (coalesce(current_setting('obsportal.public_url', true), '')
         || '/datalink?ID=' || x.exp_id)::text             AS access_url,
       'application/x-votable+xml;content=datalink'::text  AS access_format,
       NULL::bigint                                        AS access_estsize,
       x.target_name                                       AS target_name,
       x.target_ra                                         AS s_ra,
       x.target_dec                                        AS s_dec,
       NULL::double precision                              AS s_fov,
       NULL::spoly                                         AS s_region,
       NULL::double precision                              AS s_resolution,
       NULL::bigint                                        AS s_xel1,
       NULL::bigint                                        AS s_xel2,
       x.exp_mjd_start                                     AS t_min,
       x.exp_mjd_end                                       AS t_max,
       x.exp_exptime                                       AS t_exptime,
       x.exp_exptime                                       AS t_resolution,
       NULL::bigint                                        AS t_xel,
       x.instrument_em_min                                 AS em_min,
       x.instrument_em_max                                 AS em_max,
       x.instrument_em_res_power                           AS em_res_power,
       NULL::bigint                                        AS em_xel,
       NULL::text                                          AS o_ucd,
       NULL::text                                          AS pol_states,
       NULL::bigint                                        AS pol_xel,
       x.interferometer_name                               AS facility_name,
       x.instrument_name                                   AS instrument_name,
       x.exp_id                                            AS obs_exp_id,
       x.instrument_mode                                   AS instrument_mode,
       x.instrument_submode                                AS instrument_submode,
       x.interferometer_stations                           AS interferometer_stations,
       x.exp_projected_baselines                           AS projected_baselines,
       x.obs_program                                       AS proposal_id,
       x.obs_type                                          AS obs_type,
       x.exp_date_release                                  AS obs_release_date
  FROM obsportal.exposures x;

GRANT SELECT ON obsportal.exposures, ivoa.obscore TO obsportal_query;

-- The cell of a grid of `size` [m] that a (u, v) point falls in, as one number; a point and
-- its mirror image (-u, -v) are the same sample, so the lower half plane is folded onto the
-- upper one first. One expression, which PostgreSQL inlines (a call per baseline end costs
-- seconds on millions).
CREATE FUNCTION obsportal.uv_cell(u double precision, v double precision, size double precision)
RETURNS bigint LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN v < 0 OR (v = 0 AND u < 0)
                THEN floor(-u / size)::bigint * 1000000 + floor(-v / size)::bigint
                ELSE floor(u / size)::bigint * 1000000 + floor(v / size)::bigint
           END
$$;

-- What was observed of each target: counts, dates, instruments, configurations, the hour
-- angles spanned, and the (u, v) coverage: the 10 m cells of the (u, v) plane that its
-- baselines sampled at the start or end of an exposure, and their fraction of the half disc
-- out to its longest baseline (the other half is the mirror image).
CREATE MATERIALIZED VIEW obsportal.targets AS
WITH uv AS (
    SELECT x.target_id,
           count(DISTINCT obsportal.uv_cell(p.u, p.v, 10)) AS uv_cells,
           min(least(b.length_start, b.length_end)) AS shortest_baseline,
           max(greatest(b.length_start, b.length_end)) AS longest_baseline
      FROM obsportal.exposures x
      JOIN obsportal.baselines b ON b.exp_id = x.exp_id
     CROSS JOIN LATERAL (VALUES (b.u_start, b.v_start), (b.u_end, b.v_end)) AS p (u, v)
     WHERE p.u IS NOT NULL AND p.v IS NOT NULL
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
 GROUP BY x.target_id
WITH NO DATA;
CREATE UNIQUE INDEX targets_target_id ON obsportal.targets (target_id);
CREATE INDEX targets_position ON obsportal.targets
    USING gist (spoint(radians(target_ra), radians(target_dec)));
REFRESH MATERIALIZED VIEW obsportal.targets;
GRANT SELECT ON obsportal.targets TO obsportal_query;

-- Each science observation's calibrators: among the observations of the same program,
-- instrument, mode and stations in time order, the last calibrator before it (ended before it
-- started) and the first after it (started after it ended), each within 3 hours (the same
-- night; a CAL-SCI-CAL sequence is an hour or so). Window functions find both neighbours in
-- one sorted pass; a small table, refreshed plainly by each import.
CREATE MATERIALIZED VIEW obsportal.calibrations AS
WITH observation AS (
    SELECT obs_id, obs_type, min(target_id) AS target_id, min(target_name) AS target_name,
           (array_agg(exp_id ORDER BY exp_mjd_start, exp_id))[1] AS first_exp_id,
           min(exp_mjd_start) AS mjd_start,
           max(coalesce(exp_mjd_end, exp_mjd_start)) AS mjd_end,
           jsonb_build_array(obs_program, instrument_name, instrument_mode,
                             interferometer_stations) AS setup
      FROM obsportal.exposures
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
 WHERE s.obs_type = 'science' AND c.mjd_start >= s.mjd_end AND c.mjd_start < s.mjd_end + 3.0 / 24
WITH NO DATA;
CREATE INDEX calibrations_obs_id ON obsportal.calibrations (obs_id);
REFRESH MATERIALIZED VIEW obsportal.calibrations;
GRANT SELECT ON obsportal.calibrations TO obsportal_query;

-- Observation blocks as ASPRO2 groups exposures: same target, instrument, mode and stations,
-- each exposure starting within 30 minutes of the end of the one before. Identified by their
-- first exposure. Their sidereal time and hour angle from the first exposure's start to the
-- last one's end, and the projected baselines at both ends.
CREATE MATERIALIZED VIEW obsportal.blocks AS
WITH ordered AS (
    SELECT x.*,
           x.exp_mjd_start - lag(coalesce(x.exp_mjd_end, x.exp_mjd_start)) OVER setup AS gap
      FROM obsportal.exposures x
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
 GROUP BY target_id, instrument_name, instrument_mode, interferometer_stations, block
WITH NO DATA;
CREATE INDEX blocks_position ON obsportal.blocks
    USING gist (spoint(radians(target_ra), radians(target_dec)));
CREATE INDEX blocks_target ON obsportal.blocks (target_id);
REFRESH MATERIALIZED VIEW obsportal.blocks;
GRANT SELECT ON obsportal.blocks TO obsportal_query;

-- The sky coverage as IVOA MOCs (ASCII serialisation, as pg_sphere writes it): of the whole
-- service, of each interferometer and of each instrument, at order 11 (cells of 1.7 arcmin,
-- the size of a target's cone searches), from the distinct observed positions. Also at order
-- 5 (cells of 1.8 degrees), which the home page's sky map shades.
CREATE MATERIALIZED VIEW obsportal.coverage AS
WITH positions AS (
    SELECT DISTINCT interferometer_name, instrument_name, target_ra, target_dec
      FROM obsportal.exposures
), cells AS (
    SELECT interferometer_name, instrument_name,
           smoc(11, spoint(radians(target_ra), radians(target_dec))) AS cell
      FROM positions
), unions AS (
    SELECT CASE WHEN instrument_name IS NOT NULL THEN 'instrument'
                WHEN interferometer_name IS NOT NULL THEN 'interferometer'
                ELSE 'service' END AS kind,
           coalesce(instrument_name, interferometer_name, 'all') AS scope,
           sum(cell) AS moc
      FROM cells
     GROUP BY GROUPING SETS ((), (interferometer_name), (interferometer_name, instrument_name))
)
SELECT kind, scope, 11 AS moc_order, moc::text AS moc, smoc_degrade(5, moc)::text AS moc_order5,
       area(moc) / (4 * pi()) AS sky_fraction
  FROM unions
 WHERE moc IS NOT NULL
WITH NO DATA;
REFRESH MATERIALIZED VIEW obsportal.coverage;
GRANT SELECT ON obsportal.coverage TO obsportal_query;
