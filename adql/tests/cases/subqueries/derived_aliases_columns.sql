SELECT "s"."n" FROM (SELECT count(*) AS "n" FROM "obsportal"."exposures") AS "s"
