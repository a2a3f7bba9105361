SELECT avg("obsportal"."exposures"."exp_seeing") FROM "obsportal"."exposures"
