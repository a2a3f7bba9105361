-- The sky coverage (0012) was the sum of one single-cell MOC per observed position: each
-- addition copies the MOC so far, so the refresh grew with the positions times the MOC's size
-- (86 s of every import at 1,000,000 exposures, half of an import of 300 headers). The same
-- MOCs are now read from the distinct order-11 HEALPix cells, written out once as a MOC's
-- ASCII form and parsed by pg_sphere (2.3 s; the 14 MOCs compared equal to the old ones).
DROP MATERIALIZED VIEW obsportal.coverage;
CREATE MATERIALIZED VIEW obsportal.coverage AS
WITH cells AS (
    SELECT DISTINCT interferometer_name, instrument_name,
           healpix_nest(11, spoint(radians(target_ra), radians(target_dec))) AS cell
      FROM obsportal.exposures
), unions AS (
    SELECT CASE WHEN instrument_name IS NOT NULL THEN 'instrument'
                WHEN interferometer_name IS NOT NULL THEN 'interferometer'
                ELSE 'service' END AS kind,
           coalesce(instrument_name, interferometer_name, 'all') AS scope,
           ('11/' || string_agg(DISTINCT cell::text, ' '))::smoc AS moc
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
