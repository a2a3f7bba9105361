SELECT CAST("obsportal"."exposures"."exp_mjd_start" AS bigint) FROM "obsportal"."exposures"
