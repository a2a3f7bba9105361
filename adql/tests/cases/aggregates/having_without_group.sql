SELECT count(*) FROM "obsportal"."exposures" HAVING (count(*) > 0)
