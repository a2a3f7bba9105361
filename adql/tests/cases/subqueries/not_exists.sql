SELECT "e"."exp_id" FROM "obsportal"."exposures" AS "e" WHERE (NOT EXISTS (SELECT 1 FROM "ivoa"."obscore" AS "o" WHERE ("o"."obs_id" = "e"."exp_id")))
