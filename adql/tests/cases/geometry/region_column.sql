SELECT "ivoa"."obscore"."s_region" FROM "ivoa"."obscore" WHERE (spoint(radians(10), radians(20)) <@ "ivoa"."obscore"."s_region")
