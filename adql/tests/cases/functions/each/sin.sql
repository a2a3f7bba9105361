SELECT sin("obsportal"."exposures"."exp_seeing") FROM "obsportal"."exposures"
