SELECT "obsportal"."exposures"."exp_id" FROM "obsportal"."exposures" ORDER BY abs("obsportal"."exposures"."target_dec") DESC
