SELECT ((max("obsportal"."exposures"."target_dec") - min("obsportal"."exposures"."target_dec")) * 60.0) AS "spread" FROM "obsportal"."exposures"
