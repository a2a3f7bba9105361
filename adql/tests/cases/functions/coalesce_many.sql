SELECT coalesce("obsportal"."exposures"."exp_seeing", "obsportal"."exposures"."exp_tau0", 0) FROM "obsportal"."exposures"
