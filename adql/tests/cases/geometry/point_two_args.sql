SELECT degrees(long(spoint(radians("obsportal"."exposures"."target_ra"), radians("obsportal"."exposures"."target_dec")))) FROM "obsportal"."exposures"
