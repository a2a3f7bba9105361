SELECT "obsportal"."exposures"."exp_id" FROM "obsportal"."exposures" ORDER BY random() LIMIT 5
