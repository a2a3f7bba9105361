SELECT power("obsportal"."exposures"."exp_seeing", 2) FROM "obsportal"."exposures"
