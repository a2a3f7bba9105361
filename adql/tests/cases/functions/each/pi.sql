SELECT pi() FROM "obsportal"."exposures"
