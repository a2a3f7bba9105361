SELECT "e"."exp_id", (SELECT count(*) FROM "obsportal"."exposures" AS "f" WHERE ("f"."target_id" = "e"."target_id")) AS "visits" FROM "obsportal"."exposures" AS "e"
