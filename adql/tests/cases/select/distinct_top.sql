SELECT DISTINCT "obsportal"."exposures"."target_name" FROM "obsportal"."exposures" LIMIT 5
