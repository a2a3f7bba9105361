SELECT "obsportal"."exposures"."exp_id" FROM "obsportal"."exposures" ORDER BY "obsportal"."exposures"."exp_id" LIMIT 10 OFFSET 5
