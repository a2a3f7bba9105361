-- The /search page sorts by any of these columns and pages through the result with LIMIT and
-- OFFSET: an index on (column, exp_id) gives a page in the order asked without sorting every
-- matching row (a GRAVITY search sorted by seeing sorted ~100,000 rows per page view). The
-- same index serves both directions: ascending with NULLs last, descending with NULLs first,
-- PostgreSQL's defaults. exp_mjd_start has its index already.
CREATE INDEX exposures_sort_target ON obsportal.exposures (target_name, exp_id);
CREATE INDEX exposures_sort_instrument ON obsportal.exposures (instrument_name, exp_id);
CREATE INDEX exposures_sort_mode ON obsportal.exposures (instrument_mode, exp_id);
CREATE INDEX exposures_sort_stations ON obsportal.exposures (interferometer_stations, exp_id);
CREATE INDEX exposures_sort_program ON obsportal.exposures (obs_program, exp_id);
CREATE INDEX exposures_sort_type ON obsportal.exposures (obs_type, exp_id);
CREATE INDEX exposures_sort_seeing ON obsportal.exposures (exp_seeing, exp_id);
CREATE INDEX exposures_sort_tau0 ON obsportal.exposures (exp_tau0, exp_id);
-- Seeing and tau0 descending keep the exposures without a value last, as a visitor expects
-- when asking for the worst conditions first: an index of their own serves that order.
CREATE INDEX exposures_sort_seeing_desc ON obsportal.exposures (exp_seeing DESC NULLS LAST, exp_id DESC);
CREATE INDEX exposures_sort_tau0_desc ON obsportal.exposures (exp_tau0 DESC NULLS LAST, exp_id DESC);
