SELECT "TAP_UPLOAD"."targets"."size" FROM "TAP_UPLOAD"."targets"
