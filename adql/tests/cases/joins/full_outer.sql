SELECT "e"."exp_id", "o"."obs_id" FROM "obsportal"."exposures" AS "e" FULL JOIN "ivoa"."obscore" AS "o" ON ("o"."obs_id" = "e"."exp_id")
