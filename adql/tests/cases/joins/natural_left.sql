SELECT count(*) FROM "ivoa"."obscore" NATURAL LEFT JOIN "TAP_UPLOAD"."targets"
