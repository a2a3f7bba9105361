SELECT count("obsportal"."exposures"."exp_seeing") FROM "obsportal"."exposures"
