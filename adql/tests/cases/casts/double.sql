SELECT CAST("obsportal"."exposures"."exp_mjd_start" AS double precision) FROM "obsportal"."exposures"
