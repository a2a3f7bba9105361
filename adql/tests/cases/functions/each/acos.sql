SELECT acos(("obsportal"."exposures"."exp_seeing" / 10)) FROM "obsportal"."exposures"
