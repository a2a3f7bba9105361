SELECT sqrt("obsportal"."exposures"."exp_seeing") FROM "obsportal"."exposures"
