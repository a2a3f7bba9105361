SELECT count(*) FROM "obsportal"."exposures" AS "e" CROSS JOIN "TAP_UPLOAD"."targets" AS "t"
