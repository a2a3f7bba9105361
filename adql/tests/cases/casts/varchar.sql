SELECT CAST("obsportal"."exposures"."exp_mjd_start" AS varchar) FROM "obsportal"."exposures"
