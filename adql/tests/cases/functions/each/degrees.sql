SELECT degrees("obsportal"."exposures"."exp_seeing") FROM "obsportal"."exposures"
