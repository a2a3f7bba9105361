SELECT ("ivoa"."obscore"."em_min" * 10000000000.0) FROM "ivoa"."obscore"
