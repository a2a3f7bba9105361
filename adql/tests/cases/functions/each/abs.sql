SELECT abs("obsportal"."exposures"."exp_seeing") FROM "obsportal"."exposures"
