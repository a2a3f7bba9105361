SELECT sin(radians("obsportal"."exposures"."target_dec")), cos(radians("obsportal"."exposures"."target_ra")), atan2(1, 2), degrees(acos(0)) FROM "obsportal"."exposures"
