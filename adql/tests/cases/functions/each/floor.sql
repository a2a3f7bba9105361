SELECT floor("obsportal"."exposures"."exp_seeing") FROM "obsportal"."exposures"
