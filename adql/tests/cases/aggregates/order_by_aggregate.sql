SELECT "obsportal"."exposures"."target_name", count(*) FROM "obsportal"."exposures" GROUP BY "obsportal"."exposures"."target_name" ORDER BY count(*) DESC
