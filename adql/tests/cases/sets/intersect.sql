(SELECT "obsportal"."exposures"."target_name" FROM "obsportal"."exposures") INTERSECT (SELECT "ivoa"."obscore"."target_name" FROM "ivoa"."obscore")
