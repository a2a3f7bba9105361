SELECT cot("obsportal"."exposures"."exp_seeing") FROM "obsportal"."exposures"
