WITH "best" AS (SELECT "obsportal"."exposures"."exp_id", "obsportal"."exposures"."exp_seeing" FROM "obsportal"."exposures") SELECT "x"."exp_id" FROM "best" AS "x" WHERE ("x"."exp_seeing" < 0.5)
