SELECT sum("obsportal"."exposures"."exp_seeing") FROM "obsportal"."exposures"
