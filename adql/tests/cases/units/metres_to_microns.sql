SELECT ("ivoa"."obscore"."em_min" * 1000000.0), ("ivoa"."obscore"."em_max" * 999999999.9999999) FROM "ivoa"."obscore"
