SELECT atan("obsportal"."exposures"."exp_seeing") FROM "obsportal"."exposures"
