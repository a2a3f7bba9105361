SELECT ln("obsportal"."exposures"."exp_seeing") FROM "obsportal"."exposures"
