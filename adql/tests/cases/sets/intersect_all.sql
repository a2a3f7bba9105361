(SELECT "obsportal"."exposures"."target_name" FROM "obsportal"."exposures") INTERSECT ALL (SELECT "ivoa"."obscore"."target_name" FROM "ivoa"."obscore")
