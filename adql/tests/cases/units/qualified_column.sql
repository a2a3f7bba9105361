SELECT ("o"."s_ra" * 60.0) FROM "ivoa"."obscore" AS "o"
