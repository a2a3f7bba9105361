SELECT degrees(dist(spoint(radians(0), radians(0)), spoint(radians(0), radians(90)))) AS "quarter" FROM "obsportal"."exposures"
