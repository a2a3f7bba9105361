SELECT min("obsportal"."exposures"."exp_seeing") FROM "obsportal"."exposures"
