-- Crossmatches by zones of declination (adql/src/translate/zones.rs): an inner join of two
-- positions within a small radius also joins on floor(dec * 3600), 1" zones, which PostgreSQL
-- can hash or merge instead of probing a GiST index once per row. Statistics on that
-- expression let the planner estimate such a join (without them it guesses 1/200 of the
-- pairs and keeps the nested loop); uploads get the same statistics when they are loaded.
CREATE STATISTICS obsportal.exposures_dec_zone ON (floor(target_dec * 3600)) FROM obsportal.exposures;
CREATE STATISTICS obsportal.targets_dec_zone ON (floor(target_dec * 3600)) FROM obsportal.targets;
CREATE STATISTICS obsportal.blocks_dec_zone ON (floor(target_dec * 3600)) FROM obsportal.blocks;
ANALYZE obsportal.exposures;
ANALYZE obsportal.targets;
ANALYZE obsportal.blocks;
