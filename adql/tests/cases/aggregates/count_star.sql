SELECT count(*) FROM "obsportal"."exposures"
