SELECT "e"."exp_id" FROM "obsportal"."exposures" AS "e" RIGHT JOIN "ivoa"."obscore" AS "o" ON ("o"."obs_id" = "e"."exp_id")
