SELECT count(*) FROM "obsportal"."exposures" AS "e" CROSS JOIN pg_temp."targets" AS "t"
