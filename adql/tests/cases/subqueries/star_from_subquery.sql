SELECT "s"."exp_id", "s"."target_name" FROM (SELECT "obsportal"."exposures"."exp_id", "obsportal"."exposures"."target_name" FROM "obsportal"."exposures") AS "s"
