SELECT count(*) FROM "ivoa"."obscore" NATURAL LEFT JOIN pg_temp."targets"
