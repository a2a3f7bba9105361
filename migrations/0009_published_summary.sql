-- The web pages read only published tables, on the query role's connections, like every
-- user query. What the home page and the lists show (counts per instrument, mode, year,
-- program and target, from the statistics each import computes) is published here, with the
-- target's name and position and the program's PI, and described in schema/summary.toml.
CREATE VIEW obsportal.summary AS
SELECT s.dimension,
       s.instrument_name,
       s.value,
       s.exposures,
       s.observations,
       s.targets,
       s.first_mjd,
       s.last_mjd,
       t.name   AS target_name,
       t.ra     AS target_ra,
       t.dec    AS target_dec,
       p.pi_coi
  FROM obsportal.statistics s
  LEFT JOIN obsportal.target t
         ON s.dimension = 'target' AND t.id = CASE WHEN s.dimension = 'target' THEN s.value::integer END
  LEFT JOIN obsportal.program p
         ON s.dimension = 'program' AND p.id = s.value;

GRANT SELECT ON obsportal.summary TO obsportal_query;
