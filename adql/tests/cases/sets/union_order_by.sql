(SELECT "obsportal"."exposures"."target_name" AS "name" FROM "obsportal"."exposures") UNION (SELECT "TAP_UPLOAD"."targets"."name" FROM "TAP_UPLOAD"."targets") ORDER BY "name"
