SELECT "TAP_UPLOAD"."targets"."name" FROM "TAP_UPLOAD"."targets"
