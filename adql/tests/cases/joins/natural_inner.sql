SELECT count(*) FROM "ivoa"."obscore" NATURAL JOIN pg_temp."targets"
