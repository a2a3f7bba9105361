-- Crossmatches by zones of declination (adql/src/translate/zones.rs) merge-join the published
-- exposures on floor(dec * 3600). This index hands them over in that order with their
-- positions, read from the index alone (the import vacuums the view so that its pages are
-- known visible): no sort and no pass over the view's wide rows. At 1,000,000 exposures, 10,000
-- targets within 10": 1.1 s -> 0.5 s for the join.
CREATE INDEX exposures_zone ON obsportal.exposures ((floor(target_dec * 3600))) INCLUDE (target_ra, target_dec);
