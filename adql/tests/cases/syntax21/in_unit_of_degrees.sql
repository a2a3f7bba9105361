SELECT (degrees(atan2("obsportal"."exposures"."target_dec", "obsportal"."exposures"."target_ra")) * 3600.0) AS "angle" FROM "obsportal"."exposures"
