SELECT lower("obsportal"."exposures"."target_name"), upper("obsportal"."exposures"."instrument_mode") FROM "obsportal"."exposures"
