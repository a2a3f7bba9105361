SELECT max("obsportal"."exposures"."exp_seeing") FROM "obsportal"."exposures"
