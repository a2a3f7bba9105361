SELECT CAST("obsportal"."exposures"."exp_mjd_start" AS real) FROM "obsportal"."exposures"
