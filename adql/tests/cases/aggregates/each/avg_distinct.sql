SELECT avg(DISTINCT "obsportal"."exposures"."exp_seeing") FROM "obsportal"."exposures"
