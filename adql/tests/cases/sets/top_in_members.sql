(SELECT "obsportal"."exposures"."target_name" FROM "obsportal"."exposures" LIMIT 2) UNION (SELECT "ivoa"."obscore"."target_name" FROM "ivoa"."obscore" LIMIT 3)
