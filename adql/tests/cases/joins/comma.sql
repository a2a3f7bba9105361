SELECT "e"."exp_id", "o"."obs_id" FROM "obsportal"."exposures" AS "e", "ivoa"."obscore" AS "o" WHERE ("e"."exp_id" = "o"."obs_id")
