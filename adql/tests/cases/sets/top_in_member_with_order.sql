(SELECT "obsportal"."exposures"."target_name" FROM "obsportal"."exposures" LIMIT 2) UNION ALL (SELECT "ivoa"."obscore"."target_name" FROM "ivoa"."obscore") ORDER BY 1
