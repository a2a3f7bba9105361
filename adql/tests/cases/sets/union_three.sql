((SELECT 1 AS "n" FROM "obsportal"."exposures") UNION (SELECT 2 FROM "obsportal"."exposures")) UNION (SELECT 3 FROM "obsportal"."exposures")
