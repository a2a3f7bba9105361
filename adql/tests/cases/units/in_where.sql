SELECT "obsportal"."exposures"."exp_id" FROM "obsportal"."exposures" WHERE (("obsportal"."exposures"."exp_tau0" * 1000.0) > 5)
