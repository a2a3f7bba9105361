SELECT "obsportal"."exposures"."exp_id" FROM "obsportal"."exposures"
