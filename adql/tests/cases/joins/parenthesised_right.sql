SELECT "e"."exp_id" FROM "obsportal"."exposures" AS "e" JOIN ("ivoa"."obscore" AS "o" JOIN pg_temp."targets" AS "t" ON ("t"."name" = "o"."target_name")) ON ("o"."obs_id" = "e"."exp_id")
