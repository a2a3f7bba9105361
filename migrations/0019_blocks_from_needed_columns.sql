-- Observation blocks (0012) as before, but the exposures are sorted into blocks carrying only
-- the columns a block reads, not every column of the published view: each import's refresh at
-- 1,000,000 exposures 18.3 s -> 10.9 s, the same 357,441 blocks row for row.
DROP MATERIALIZED VIEW obsportal.blocks;
CREATE MATERIALIZED VIEW obsportal.blocks AS
WITH ordered AS (
    SELECT x.exp_id, x.target_id, x.target_name, x.target_ra, x.target_dec, x.instrument_name,
           x.instrument_mode, x.interferometer_stations, x.exp_mjd_start, x.exp_mjd_end,
           x.exp_lst_start, x.exp_lst_end, x.exp_ha_start, x.exp_ha_end,
           x.exp_projected_baselines,
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
