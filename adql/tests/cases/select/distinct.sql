SELECT DISTINCT "obsportal"."exposures"."instrument_name" FROM "obsportal"."exposures"
