(SELECT "obsportal"."exposures"."target_name" AS "name" FROM "obsportal"."exposures") UNION (SELECT pg_temp."targets"."name" FROM pg_temp."targets") ORDER BY "name"
