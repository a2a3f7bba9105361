SELECT "obsportal"."exposures"."exp_id" FROM "obsportal"."exposures" WHERE ("obsportal"."exposures"."exp_seeing" BETWEEN (0.5::float8 * 1) AND (2 - 1))
