SELECT random() FROM "obsportal"."exposures"
