SELECT CAST(round(CAST("obsportal"."exposures"."exp_seeing" AS numeric), CAST(1 AS integer)) AS double precision) FROM "obsportal"."exposures"
