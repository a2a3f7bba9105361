SELECT "ivoa"."obscore"."target_name", "ivoa"."obscore"."s_ra" FROM "ivoa"."obscore"
