(SELECT "obsportal"."exposures"."target_name" FROM "obsportal"."exposures") UNION (SELECT "ivoa"."obscore"."target_name" FROM "ivoa"."obscore")
