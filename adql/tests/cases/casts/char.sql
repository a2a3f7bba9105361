SELECT CAST("obsportal"."exposures"."exp_mjd_start" AS char) FROM "obsportal"."exposures"
