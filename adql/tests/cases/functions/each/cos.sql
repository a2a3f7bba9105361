SELECT cos("obsportal"."exposures"."exp_seeing") FROM "obsportal"."exposures"
