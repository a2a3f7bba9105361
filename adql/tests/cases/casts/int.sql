SELECT CAST("obsportal"."exposures"."exp_mjd_start" AS integer) FROM "obsportal"."exposures"
