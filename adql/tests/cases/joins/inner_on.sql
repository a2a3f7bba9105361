SELECT "e"."exp_id", "o"."t_min" FROM "obsportal"."exposures" AS "e" JOIN "ivoa"."obscore" AS "o" ON ("o"."obs_id" = "e"."exp_id")
