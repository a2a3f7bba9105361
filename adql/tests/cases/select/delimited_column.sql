SELECT "TAP_UPLOAD"."targets"."Mixed Case" FROM "TAP_UPLOAD"."targets"
