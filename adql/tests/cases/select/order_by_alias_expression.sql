SELECT "obsportal"."exposures"."exp_id", ("obsportal"."exposures"."exp_mjd_end" - "obsportal"."exposures"."exp_mjd_start") AS "duration" FROM "obsportal"."exposures" ORDER BY "duration"
