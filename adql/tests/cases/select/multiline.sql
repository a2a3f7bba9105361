SELECT "obsportal"."exposures"."exp_id", "obsportal"."exposures"."target_name" FROM "obsportal"."exposures" WHERE ("obsportal"."exposures"."exp_seeing" < 0.8::float8)
