SELECT healpix_nest(10, spoint(radians("obsportal"."exposures"."target_ra"), radians("obsportal"."exposures"."target_dec"))) AS "pixel" FROM "obsportal"."exposures"
