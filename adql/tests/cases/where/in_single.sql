SELECT "obsportal"."exposures"."exp_id" FROM "obsportal"."exposures" WHERE ("obsportal"."exposures"."obs_id" IN (7))
