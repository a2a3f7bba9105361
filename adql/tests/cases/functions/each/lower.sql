SELECT lower("obsportal"."exposures"."target_name") FROM "obsportal"."exposures"
