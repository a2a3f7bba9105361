SELECT count(DISTINCT "obsportal"."exposures"."target_id") FROM "obsportal"."exposures"
