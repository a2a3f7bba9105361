SELECT 'VLTI' AS "facility", "obsportal"."exposures"."exp_id" FROM "obsportal"."exposures"
