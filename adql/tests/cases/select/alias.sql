SELECT "o"."target_name" AS "name", "o"."s_ra" AS "ra" FROM "ivoa"."obscore" AS "o"
