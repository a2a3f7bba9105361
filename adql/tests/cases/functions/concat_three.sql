SELECT ((("obsportal"."exposures"."target_name" || ' (') || "obsportal"."exposures"."instrument_name") || ')') AS "label" FROM "obsportal"."exposures"
