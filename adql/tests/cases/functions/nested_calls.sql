SELECT degrees(asin(sin(radians("obsportal"."exposures"."target_dec")))) FROM "obsportal"."exposures"
