SELECT "obsportal"."exposures"."exp_id" FROM "obsportal"."exposures" LIMIT 1000000
