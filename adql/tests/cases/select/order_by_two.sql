SELECT "obsportal"."exposures"."exp_id" FROM "obsportal"."exposures" ORDER BY "obsportal"."exposures"."instrument_name", "obsportal"."exposures"."exp_mjd_start" DESC
