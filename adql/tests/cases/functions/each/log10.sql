SELECT log("obsportal"."exposures"."exp_seeing") FROM "obsportal"."exposures"
