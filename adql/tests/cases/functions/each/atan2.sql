SELECT atan2("obsportal"."exposures"."target_dec", "obsportal"."exposures"."target_ra") FROM "obsportal"."exposures"
