SELECT "a"."exp_id" FROM "obsportal"."exposures" AS "a" CROSS JOIN "ivoa"."obscore" AS "b"
