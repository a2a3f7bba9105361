SELECT "obsportal"."exposures"."instrument_name" FROM "obsportal"."exposures"
