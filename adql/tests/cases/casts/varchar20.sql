SELECT CAST("obsportal"."exposures"."exp_mjd_start" AS varchar(20)) FROM "obsportal"."exposures"
