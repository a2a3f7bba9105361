SELECT "obsportal"."exposures"."exp_id", "obsportal"."exposures"."target_name" FROM "obsportal"."exposures"
