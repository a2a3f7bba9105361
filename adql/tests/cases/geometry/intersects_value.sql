SELECT (CASE WHEN (scircle(spoint(radians(0), radians(0)), radians(1)) && (SELECT scircle(spoint(radians(1), radians(0)), radians(1)))) THEN 1 ELSE 0 END) AS "overlap" FROM "obsportal"."exposures"
