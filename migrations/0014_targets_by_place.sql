-- identify_targets again, with the same result, matched once per place instead of once per
-- exposure. The exposures of one pointing (an OB) share their coordinates, so the staged
-- pointings are first reduced to their distinct places (each with its earliest exposure);
-- the nearest existing target and the seeding self-join then run over places. The self-join
-- used to visit every pair of a target's exposures (quadratic in them: 27 s of a 200,000
-- exposure import); now it visits pairs of its pointings. Same rule as before: a place takes
-- the nearest existing target within radius_deg; otherwise the earliest not yet identified
-- place within radius_deg (by its earliest exposure, then dp_id) seeds a new target, named and
-- placed after that exposure.
CREATE OR REPLACE FUNCTION obsportal.identify_targets(radius_deg double precision) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    created integer;
BEGIN
    CREATE TEMP TABLE place ON COMMIT DROP AS
    SELECT DISTINCT ON (ra, dec)
           ra, dec, spoint(radians(ra), radians(dec)) AS position,
           dp_id AS first_dp_id, mjd_start, target_name, NULL::integer AS target_id
      FROM changed_header WHERE drop_reason IS NULL
     ORDER BY ra, dec, mjd_start, dp_id;
    CREATE INDEX ON place USING gist (position);
    ANALYZE place;

    IF EXISTS (SELECT FROM obsportal.target) THEN
        UPDATE place q
           SET target_id = (
                SELECT t.id FROM obsportal.target t
                 WHERE spoint(radians(t.ra), radians(t.dec)) @ scircle(q.position, radians(radius_deg))
                 ORDER BY spoint(radians(t.ra), radians(t.dec)) <-> q.position
                 LIMIT 1);
    END IF;

    CREATE TEMP TABLE seeded ON COMMIT DROP AS
    SELECT q.ra, q.dec,
           (SELECT s.first_dp_id FROM place s
             WHERE s.target_id IS NULL AND s.position @ scircle(q.position, radians(radius_deg))
             ORDER BY s.mjd_start, s.first_dp_id LIMIT 1) AS seed
      FROM place q WHERE q.target_id IS NULL;
    CREATE TEMP TABLE seed_target ON COMMIT DROP AS
    SELECT seed, nextval(pg_get_serial_sequence('obsportal.target', 'id'))::integer AS target_id
      FROM (SELECT DISTINCT seed FROM seeded ORDER BY seed) seeds;
    INSERT INTO obsportal.target (id, name, ra, dec)
    SELECT st.target_id, q.target_name, q.ra, q.dec
      FROM seed_target st JOIN place q ON q.first_dp_id = st.seed;
    GET DIAGNOSTICS created = ROW_COUNT;
    UPDATE place q SET target_id = st.target_id
      FROM seeded s JOIN seed_target st USING (seed)
     WHERE q.ra = s.ra AND q.dec = s.dec;
    UPDATE changed_header c SET target_id = q.target_id
      FROM place q
     WHERE c.drop_reason IS NULL AND c.ra = q.ra AND c.dec = q.dec;

    DROP TABLE place, seeded, seed_target;
    RETURN created;
END $$;
