SELECT ("obsportal"."exposures"."exp_seeing" * 1000.0000000000001) FROM "obsportal"."exposures"
