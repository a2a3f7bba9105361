-- What the outside world reads. Described column by column in schema/*.toml.

-- Flat, one row per exposure, ObsPortal column names. Materialised so that cone searches and
-- full scans read one table; refreshed (concurrently) at the end of every import.
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
       e.ob_id                     AS obs_ob_id
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

-- ObsCore 1.1 over the same rows: every mandatory column, plus interferometry extensions.
CREATE SCHEMA ivoa;
CREATE VIEW ivoa.obscore AS
SELECT 'visibility'::text                                  AS dataproduct_type,
       0::integer                                          AS calib_level,
       ('ESO/VLTI/' || x.instrument_name)::text            AS obs_collection,
       x.exp_header_id                                     AS obs_id,
       ('ivo://eso.org/ID?' || x.exp_header_id)::text       AS obs_publisher_did,
       ('https://archive.eso.org/hdr?DpId=' || x.exp_header_id)::text AS access_url,
       'text/html'::text                                   AS access_format,
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

-- Counts the pages show, computed once at the end of each import (pages never count live).
CREATE TABLE obsportal.statistics (
    dimension       text NOT NULL CHECK (dimension IN ('instrument', 'mode', 'year', 'program', 'target')),
    instrument_name text NOT NULL,
    value           text NOT NULL,
    exposures       bigint NOT NULL,
    observations    bigint NOT NULL,
    targets         bigint NOT NULL,
    first_mjd       double precision,
    last_mjd        double precision,
    PRIMARY KEY (dimension, instrument_name, value)
);

CREATE FUNCTION obsportal.compute_statistics() RETURNS void LANGUAGE sql AS $$
    DELETE FROM obsportal.statistics;
    INSERT INTO obsportal.statistics
    SELECT d.dimension, x.instrument_name,
           CASE d.dimension
               WHEN 'instrument' THEN x.instrument_name
               WHEN 'mode' THEN coalesce(x.instrument_mode, '')
               WHEN 'year' THEN extract(year FROM timestamp '1858-11-17' + x.exp_mjd_start * interval '1 day')::text
               WHEN 'program' THEN coalesce(x.obs_program, '')
               WHEN 'target' THEN x.target_id::text
           END AS value,
           count(*), count(DISTINCT x.obs_id), count(DISTINCT x.target_id),
           min(x.exp_mjd_start), max(x.exp_mjd_start)
      FROM obsportal.exposures x
     CROSS JOIN (VALUES ('instrument'), ('mode'), ('year'), ('program'), ('target')) AS d (dimension)
     GROUP BY 1, 2, 3;
$$;
