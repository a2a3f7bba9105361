SELECT "e"."exp_id" FROM "obsportal"."exposures" AS "e"
