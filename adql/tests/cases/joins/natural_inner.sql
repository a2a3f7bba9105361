SELECT count(*) FROM "ivoa"."obscore" NATURAL JOIN "TAP_UPLOAD"."targets"
