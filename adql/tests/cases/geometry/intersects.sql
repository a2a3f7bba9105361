SELECT "ivoa"."obscore"."obs_id" FROM "ivoa"."obscore" WHERE ("ivoa"."obscore"."s_region" && (SELECT scircle(spoint(radians(10), radians(20)), radians(1))))
