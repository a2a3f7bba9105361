SELECT "a"."exp_id", "b"."exp_id" FROM "obsportal"."exposures" AS "a" JOIN "obsportal"."exposures" AS "b" ON (("a"."target_id" = "b"."target_id") AND ("a"."exp_id" < "b"."exp_id"))
