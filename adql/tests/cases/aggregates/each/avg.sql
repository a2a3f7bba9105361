SELECT CAST(avg("obsportal"."exposures"."exp_seeing") AS double precision) FROM "obsportal"."exposures"
