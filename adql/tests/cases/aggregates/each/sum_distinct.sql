SELECT CAST(sum(DISTINCT "obsportal"."exposures"."exp_seeing") AS double precision) FROM "obsportal"."exposures"
