SELECT ceiling("obsportal"."exposures"."exp_seeing") FROM "obsportal"."exposures"
