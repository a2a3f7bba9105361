SELECT "obsportal"."exposures"."exp_id" AS "Exposure Id" FROM "obsportal"."exposures"
