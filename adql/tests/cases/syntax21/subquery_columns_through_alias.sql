SELECT "q"."exp_id", "q"."n" FROM (SELECT "obsportal"."exposures"."exp_id", (2 * "obsportal"."exposures"."exp_seeing") AS "n" FROM "obsportal"."exposures") AS "q" WHERE ("q"."n" > 1)
