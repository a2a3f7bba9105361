SELECT CAST("obsportal"."exposures"."exp_mjd_start" AS smallint) FROM "obsportal"."exposures"
