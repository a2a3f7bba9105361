SELECT "obsportal"."exposures"."exp_id", "obsportal"."exposures"."exp_id" AS "again" FROM "obsportal"."exposures"
