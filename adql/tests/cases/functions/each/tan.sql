SELECT tan("obsportal"."exposures"."exp_seeing") FROM "obsportal"."exposures"
