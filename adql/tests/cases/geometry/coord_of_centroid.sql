SELECT degrees(long(center(scircle(spoint(radians(10), radians(20)), radians(1))))), degrees(lat(center(scircle(spoint(radians(10), radians(20)), radians(1))))) FROM "obsportal"."exposures"
