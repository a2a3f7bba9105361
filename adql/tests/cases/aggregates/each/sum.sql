SELECT CAST(sum("obsportal"."exposures"."exp_seeing") AS double precision) FROM "obsportal"."exposures"
