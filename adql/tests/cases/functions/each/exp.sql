SELECT exp("obsportal"."exposures"."exp_seeing") FROM "obsportal"."exposures"
