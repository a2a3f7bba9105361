SELECT upper("obsportal"."exposures"."target_name") FROM "obsportal"."exposures"
