SELECT "obsportal"."exposures"."exp_id" AS "select" FROM "obsportal"."exposures"
