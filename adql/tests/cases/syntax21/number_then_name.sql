SELECT 1 AS "abc" FROM "obsportal"."exposures"
