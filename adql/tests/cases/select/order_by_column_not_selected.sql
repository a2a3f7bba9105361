SELECT "obsportal"."exposures"."exp_id" FROM "obsportal"."exposures" ORDER BY "obsportal"."exposures"."target_name"
