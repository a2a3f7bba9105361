SELECT asin(("obsportal"."exposures"."exp_seeing" / 10)) FROM "obsportal"."exposures"
