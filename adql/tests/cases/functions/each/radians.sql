SELECT radians("obsportal"."exposures"."exp_seeing") FROM "obsportal"."exposures"
