SELECT "obsportal"."exposures"."exp_id", "obsportal"."exposures"."exp_mjd_start" FROM "obsportal"."exposures" ORDER BY 2 DESC LIMIT 3
