SELECT "obsportal"."exposures"."exp_mjd_start" FROM "obsportal"."exposures"
