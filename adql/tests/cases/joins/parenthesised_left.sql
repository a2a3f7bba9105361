SELECT "a"."exp_id" FROM ("obsportal"."exposures" AS "a" JOIN "obsportal"."exposures" AS "b" ON ("a"."exp_id" = "b"."exp_id")) JOIN "ivoa"."obscore" AS "o" ON ("o"."obs_id" = "a"."exp_id")
