SELECT "e"."exp_id" AS "id" FROM "obsportal"."exposures" AS "e"
