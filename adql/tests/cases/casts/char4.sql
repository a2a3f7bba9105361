SELECT CAST("obsportal"."exposures"."exp_mjd_start" AS char(4)) FROM "obsportal"."exposures"
